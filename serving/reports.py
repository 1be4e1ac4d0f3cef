"""Experiment reports in the server: the reports folder read-only under `/reports/`, kept fresh by analysis.

Serving does not analyse by itself (it may not import `analysis`): whoever builds the app passes a
`ReportRefresher`, a callable that analyses one experiment and writes `<reports_dir>/<name>/results.json`
and `report.html` (and the folder's `index.html`). `vsx serve` passes its analysis pipeline. With one, the
app answers `POST /v1/admin/analyze/{name}` and, when `refresh_s > 0`, re-analyses the running experiments
on a schedule in a background thread. On the embedded store this is the only way reports stay current:
the server's process owns the store, and no other process may read it while it runs.

One analysis runs at a time per process (scheduled and requested ones share a lock). It reads the store
while searches keep logging to it: searches only queue their events, but chdb holds the interpreter for
each query (as for each insert, see `event_logging/embedded_sink.py`), so requests wait out the analysis's
queries one at a time while a refresh runs; the schedule's interval bounds how often that happens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from serving.errors import ReportFailedError

logger = logging.getLogger(__name__)

ReportRefresher = Callable[[str], None]
"""Analyse experiment `name` into the reports folder. Raises `UnknownExperimentError` for a name that is no
experiment, `ReportFailedError` when the experiment cannot be analysed now (no users yet, store unreachable)."""

INDEX_NAME = "index.html"


class ReportFiles(StaticFiles):
    """The reports folder, read-only (GET and HEAD only, no path outside it, no listing), never cached stale.

    A folder without an index yet answers with a page saying where reports come from, not a JSON 404.
    """

    def __init__(self, directory: Path, refresh_s: float) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.folder = directory
        self.refresh_s = refresh_s

    async def check_config(self) -> None:
        """A folder that does not exist yet is a folder with no reports yet, not a server error."""
        if Path(self.folder).is_dir():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path not in ("", ".", INDEX_NAME):
                raise
            response = HTMLResponse(self._no_reports_page(), status_code=404)
        response.headers["Cache-Control"] = "no-cache"  # reports change in place: revalidate on every visit
        return response

    def _no_reports_page(self) -> str:
        schedule = (
            f" This server re-analyses its running experiments every {self.refresh_s / 60:g} minutes."
            if self.refresh_s > 0
            else ""
        )
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>vsx · no reports yet</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
            "<body style='font-family: system-ui, sans-serif; margin: 2rem; max-width: 40rem'>"
            "<h1>No reports yet</h1>"
            f"<p>Reports appear here when an experiment is analysed into <code>{self.folder}</code>: "
            "<code>vsx analyze NAME</code>, or <code>POST /v1/admin/analyze/NAME</code> on this server."
            f"{schedule}</p><p><a href='/'>Back to search</a></p></body></html>"
        )


class Reports:
    """Runs the refresher: on request for one experiment, and on a schedule for every running one."""

    def __init__(
        self,
        folder: Path,
        refresher: ReportRefresher,
        running: Callable[[], Iterable[str]],
        refresh_s: float = 0.0,
    ) -> None:
        self.folder = Path(folder)
        self._refresher = refresher
        self._running = running
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, name: str) -> None:
        """Analyse `name` now (after any analysis already running in this process)."""
        with self._lock:
            self._refresher(name)

    def refresh_running(self) -> None:
        """One scheduled round: every running experiment; one that cannot be analysed is logged and skipped."""
        names = list(self._running())
        for name in names:
            if self._stop.is_set():
                return
            try:
                self.refresh(name)
            except ReportFailedError as exc:
                logger.warning("scheduled report of %s skipped: %s", name, exc)
            except Exception:  # a bug in one analysis must not stop the schedule for the others
                logger.exception("scheduled report of %s failed", name)
        logger.info("refreshed the reports of %d running experiment(s)", len(names))

    def start(self) -> None:
        """Refresh now, then every `refresh_s` seconds, in a background thread (nothing when `refresh_s` is 0)."""
        if self.refresh_s <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="vsx-report-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 120.0) -> None:
        """Stop the schedule, waiting for an analysis in progress (it holds the store; exiting under it can crash)."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                logger.warning("a report refresh was still running after %.0f s at shutdown", timeout_s)
        self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh_running()
            self._stop.wait(self.refresh_s)
