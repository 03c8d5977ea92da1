"""Start the app as `make run` does: `streamlit run app.py`, with the libraries every page
needs (pandas, Altair, DuckDB, the engine) imported in the background while the server starts
and the browser connects, instead of on the first page's run. Arguments are passed on to
`streamlit run` (e.g. `python serve.py --server.port 8502`)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path


def _preload() -> None:
    import altair  # noqa: F401
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    import app_pages.common
    import app_pages.downloads  # noqa: F401
    import framework.charts
    import framework.engine.overview
    import framework.engine.views  # noqa: F401


def _work_out_views_ahead() -> None:
    """Start working out the shown store's views in a separate process now, not when the
    first page is drawn (framework/engine/precompute.py; a no-op when already done)."""
    from framework.config import load_settings, shown_store
    from framework.engine.precompute import start_in_background

    start_in_background(shown_store(load_settings()))


if __name__ == "__main__":
    threading.Thread(target=_preload, name="preload", daemon=True).start()
    _work_out_views_ahead()
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    # Belt and braces: Streamlit treats a folder called pages/ beside the script as an
    # old-style multipage app (running a page's script without app.py's sign-in); the pages
    # live in app_pages/ for that reason, and this keeps the old behaviour off regardless.
    PagesManager.uses_pages_directory = False

    sys.argv = ["streamlit", "run", str(Path(__file__).with_name("app.py")), *sys.argv[1:]]
    sys.exit(cli.main())
