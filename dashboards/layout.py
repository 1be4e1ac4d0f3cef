"""Where reports live on disk, and how files there are written.

Layout (one folder per experiment, an index beside them)::

    reports_dir/
        index.html                 every experiment: status, verdict, link (rewritten on each report)
        history.html               offline against online deltas across experiments (`vsx history`)
        <experiment>/results.json  written by the analysis (`Results.write`)
        <experiment>/report.html   written by `dashboards.render_report`

Files are written atomically (`config_files.atomic`), so a browser or a concurrent index rewrite never reads
half a page.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from analysis.results import Results
from dashboards.errors import ResultsFileError

INDEX_NAME = "index.html"
HISTORY_NAME = "history.html"
REPORT_NAME = "report.html"
RESULTS_NAME = "results.json"


def read_results(path: Path) -> Results:
    """Load a `results.json`, turning I/O and schema failures into `ResultsFileError`."""
    try:
        return Results.read(path)
    except (OSError, ValidationError) as exc:
        raise ResultsFileError(f"cannot read {path}: {exc}") from exc
