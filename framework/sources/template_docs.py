"""Generate the data dictionary pages and the blank CSV/XLSX files from ``templates.toml``.

``python -m framework templates`` writes them; the tests regenerate them and compare with the
committed copies, so the documentation cannot drift from what the reader checks.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from framework.sources.template_defs import (
    TEMPLATES,
    TYPE_WORDS,
    Column,
    Rule,
    Template,
    number_text,
)

DOCS_DIR = Path("docs/data/templates")
BLANK_DIR = Path("templates")
XLSX_ROWS_WITH_CHECKS = 2000  # rows of the blank workbook that carry drop-down lists

RULE_WORDS = {
    "order": "`{later}` is not before `{earlier}`",
    "at_most": "`{column}` is at most `{limit}`",
    "sum_at_most": "{parts_sum} is at most `{limit}`",
    "sum": "`{total}` equals {parts_sum}",
    "one_of": "at least one of {columns_list} is given",
    "subset": "every code in `{column}` is also in `{of}`",
    "implies": "`{column}` = yes only when `{requires}` = yes",
    "requires": "when `{column}` is given, so are {needs_list}",
    "code_in": "`{column}` is a code of the list that `{when_column}` selects",
    "only_when": "`{column}` is blank unless `{when_column}` is {values_list}",
    "in_year_or_before": "`{column}` is on or before the end of the row's `{year}`",
    "in_year_or_after": "`{column}` is on or after the start of the row's `{year}`",
}


def allowed_values(column: Column) -> str:
    if column.derived:
        return "computed by the loader"
    if column.type in ("code", "codes", "agree5"):
        return "; ".join(f"`{v}` {label}" for v, label in column.codes)
    if column.type == "yes_no":
        return "`yes` or `no` (also y/n, true/false, 1/0)"
    if column.type in ("integer", "number"):
        return f"{number_text(column.minimum)} to {number_text(column.maximum)}"
    if column.type == "date":
        return f"YYYY-MM-DD or DD/MM/YYYY; from {column.earliest[:4]}, not in the future"
    if column.type == "year":
        return "2025-26 (also 2025/26)"
    if column.type == "academic_year":
        return "2025/26 (also 2025-26)"
    if column.type in ("child_id", "worker_id", "upn"):
        return "as held locally; replaced by a keyed pseudonym at load"
    return "free text (no personal information)"


def describe_rule(rule: Rule) -> str:
    s = dict(rule.settings)
    s["parts_sum"] = " + ".join(f"`{p}`" for p in s.get("parts", ()))
    s["columns_list"] = ", ".join(f"`{c}`" for c in s.get("columns", ()))
    s["needs_list"] = ", ".join(f"`{c}`" for c in s.get("needs", ()))
    s["values_list"] = " or ".join(f"`{v}`" for v in s.get("values", ["yes"]))
    text = RULE_WORDS[rule.kind].format(**s)
    effect = "the row loads with a warning" if rule.severity == "warning" else "else set aside"
    return f"{text[0].upper()}{text[1:]} ({effect})."


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def dictionary_page(template: Template) -> str:
    """The Markdown data dictionary of one template."""
    dated = template.column(template.dated_by)
    unit = f"`{template.period}`" if template.period else "financial year"
    replaces = (
        f"a file is the whole record of every {unit} it holds: loading a corrected file "
        f"replaces the rows of each {unit} in it, and leaves the others alone"
        if template.replaces == "periods"
        else "rows are merged by key: a row with the same key is updated, and no row is ever "
        "removed by a later file (histories that span years)"
    )
    files = f"[CSV](../../../templates/{template.name}.csv)"
    if template.hand_filled:
        files += f", [XLSX](../../../templates/{template.name}.xlsx)"
    lines = [
        f"# {template.title} (`{template.name}`)",
        "",
        template.description,
        "",
        f"- **One row per**: {template.unit}.",
        f"- **Blank template**: {files}. Files are recognised by their columns, not their name;",
        "  column names may use any case, and spaces or hyphens for underscores.",
        f"- **Period**: each row counts in the financial year (1 April to 31 March) of "
        f"`{dated.name}`.",
        f"- **Loading again**: {replaces}.",
        f"- **Key**: {' + '.join(f'`{k}`' for k in template.key)}. Two different rows with the "
        "same key are both set aside; an exact repeat loads once.",
        f"- **Indicators served**: {', '.join(template.indicators) or 'context for others'}.",
        "",
        "| Column | Type | Required | Allowed values | Meaning | Indicators |",
        "|---|---|---|---|---|---|",
    ]
    for column in template.columns:
        name = f"`{column.name}`" + (" (computed)" if column.derived else "")
        if column.aliases:
            name += " (also " + ", ".join(f"`{a}`" for a in column.aliases) + ")"
        lines.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    name,
                    TYPE_WORDS[column.type],
                    "yes" if column.required else "",
                    allowed_values(column),
                    column.meaning,
                    ", ".join(column.indicators),
                )
            )
            + " |"
        )
    if template.rules:
        lines += ["", "## Checks across columns", ""]
        lines += [f"- {describe_rule(rule)}" for rule in template.rules]
    if template.id_columns:
        lines += [
            "",
            "## Privacy",
            "",
            f"{', '.join(f'`{c}`' for c in template.id_columns)} "
            "are replaced at load by a keyed hash (the same key as the returns, so the same "
            "child or worker links across sources); the ids themselves are never stored.",
        ]
    return "\n".join(lines) + "\n"


def index_page() -> str:
    lines = [
        "# Local and new data: the templates",
        "",
        "About half of the framework's indicators need data the statutory returns do not hold.",
        "Each source below has a template: a CSV (or XLSX) layout the loader recognises by its",
        "columns, checks cell by cell, and loads with the same rules as the returns (see",
        "[../loading.md](../loading.md)). Generated from `framework/sources/templates.toml` by",
        "`python -m framework templates`; do not edit by hand.",
        "",
        "| Source | Template | One row per | Indicators |",
        "|---|---|---|---|",
    ]
    for template in TEMPLATES.values():
        lines.append(
            f"| [{template.title}]({template.name}.md) | `{template.name}` | "
            f"{template.unit} | {', '.join(template.indicators)} |"
        )
    return "\n".join(lines) + "\n"


def blank_csv(template: Template) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([c.name for c in template.file_columns])
    return buffer.getvalue()


def blank_xlsx(template: Template, path: Path) -> None:
    """A workbook with a ``data`` sheet (headers, drop-down lists) and the dictionary."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    data = book.active
    data.title = "data"
    data.append([c.name for c in template.file_columns])
    data.freeze_panes = "A2"
    for index, column in enumerate(template.file_columns, start=1):
        letter = get_column_letter(index)
        data[f"{letter}1"].font = Font(bold=True)
        data.column_dimensions[letter].width = max(12, len(column.name) + 2)
        choices = _drop_down(column)
        if choices:
            check = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
            check.error = f"Expected {allowed_values(column)}"
            check.add(f"{letter}2:{letter}{XLSX_ROWS_WITH_CHECKS}")
            data.add_data_validation(check)
    about = book.create_sheet("dictionary")
    about.append([template.title])
    about["A1"].font = Font(bold=True)
    about.append([template.description])
    about.append([])
    about.append(["column", "type", "required", "allowed values", "meaning", "indicators"])
    for column in template.file_columns:
        about.append(
            [
                column.name,
                TYPE_WORDS[column.type],
                "yes" if column.required else "",
                allowed_values(column).replace("`", ""),
                column.meaning,
                ", ".join(column.indicators),
            ]
        )
    fixed = datetime(2025, 1, 1)
    book.properties.created = book.properties.modified = fixed
    buffer = io.BytesIO()
    book.save(buffer)
    _write_reproducibly(buffer.getvalue(), path)


def _write_reproducibly(workbook: bytes, path: Path) -> None:
    """Re-pack the workbook with fixed timestamps, so regenerating it gives the same bytes
    (a blank template changes in git only when its content does)."""
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            stamped = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            stamped.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", content
                )
            target.writestr(stamped, content)


def _drop_down(column: Column) -> str | None:
    """Excel list validation text (at most 255 characters), or None."""
    if column.type == "yes_no":
        return "yes,no"
    if column.type in ("code", "agree5"):
        text = ",".join(column.values)
        return text if len(text) <= 255 else None
    return None


def write_all(docs_dir: Path = DOCS_DIR, blank_dir: Path = BLANK_DIR) -> list[Path]:
    """Write every dictionary page and blank file; return the paths written."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    blank_dir.mkdir(parents=True, exist_ok=True)
    written = [docs_dir / "README.md"]
    written[0].write_text(index_page(), encoding="utf-8")
    for template in TEMPLATES.values():
        page = docs_dir / f"{template.name}.md"
        page.write_text(dictionary_page(template), encoding="utf-8")
        blank = blank_dir / f"{template.name}.csv"
        blank.write_text(blank_csv(template), encoding="utf-8")
        written += [page, blank]
        if template.hand_filled:
            workbook = blank_dir / f"{template.name}.xlsx"
            blank_xlsx(template, workbook)
            written.append(workbook)
    return written


__all__ = ["blank_csv", "blank_xlsx", "dictionary_page", "index_page", "write_all"]
