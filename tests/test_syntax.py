"""Every Python file compiles on the Python that runs the tests (3.11 on the machines we
support). Ruff parses newer syntax than 3.11 accepts (e.g. an f-string reusing its own quotes),
and a page with such a line fails only when Streamlit runs it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = sorted(
    path for folder in ("framework", "app_pages", "tests") for path in (REPO / folder).rglob("*.py")
)
SOURCES = [*PACKAGES, REPO / "app.py", REPO / "serve.py"]


def test_every_python_file_compiles() -> None:
    failures = []
    for path in SOURCES:
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as error:
            failures.append(f"{path.relative_to(REPO)}:{error.lineno}: {error.msg}")
    assert not failures, failures
