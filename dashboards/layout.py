"""Where reports live on disk, and how files there are written.

Layout (one folder per experiment, an index beside them)::

    reports_dir/
        index.html                 every experiment: status, verdict, link (rewritten on each report)
        history.html               offline against online deltas across experiments (`vsx history`)
        <experiment>/results.json  written by the analysis (`Results.write`)
        <experiment>/report.html   written by `dashboards.render_report`

Files are written to a unique `*.tmp` in the same folder and then `os.replace`d, so a browser or
a concurrent index rewrite never reads half a page.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pydantic import ValidationError

from analysis.results import Results
from dashboards.errors import ResultsFileError

INDEX_NAME = "index.html"
HISTORY_NAME = "history.html"
REPORT_NAME = "report.html"
RESULTS_NAME = "results.json"


def write_text_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` via a uniquely named `*.tmp` in the same folder, then `os.replace`.

    The unique name lets two writers (say, two reports refreshing the index) never share a temp
    file; opening it normally keeps the usual umask permissions, so a web server can read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_results(path: Path) -> Results:
    """Load a `results.json`, turning I/O and schema failures into `ResultsFileError`."""
    try:
        return Results.read(path)
    except (OSError, ValidationError) as exc:
        raise ResultsFileError(f"cannot read {path}: {exc}") from exc
