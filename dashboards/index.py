"""The reports index: one page listing every experiment in `reports_dir` with its decision, health and link.

Built from each `reports_dir/<experiment>/results.json` rather than from the report pages, so it
stays correct however the reports were produced; rewritten by every `render_report`. A folder
whose `results.json` cannot be read is listed with the reason instead of breaking the whole page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from config_files.atomic import write_atomic
from dashboards.decisions import DecisionView, decision_views
from dashboards.errors import ResultsFileError
from dashboards.layout import HISTORY_NAME, INDEX_NAME, REPORT_NAME, RESULTS_NAME, read_results
from dashboards.templating import environment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexEntry:
    """One experiment folder as the index shows it; `error` is set when its results could not be read."""

    folder: str
    experiment: str
    status: str | None = None
    primary_metric: str | None = None
    decisions: tuple[DecisionView, ...] = ()
    users: int | None = None
    srm_ok: bool | None = None
    srm_checked: bool = True
    guardrails: dict[str, int] | None = None
    generated_at: datetime | None = None
    report_href: str | None = None
    error: str | None = None


def _entry(folder: Path) -> IndexEntry:
    href = f"{quote(folder.name)}/{REPORT_NAME}" if (folder / REPORT_NAME).exists() else None
    try:
        results = read_results(folder / RESULTS_NAME)
    except ResultsFileError as exc:
        logger.warning("index: %s", exc)
        return IndexEntry(folder.name, folder.name, report_href=href, error=f"unreadable {RESULTS_NAME}")
    return IndexEntry(
        folder=folder.name,
        experiment=results.experiment,
        status=results.status,
        primary_metric=results.primary_metric,
        decisions=tuple(decision_views(results)),
        users=sum(results.srm.observed.values()),
        srm_ok=results.srm.ok,
        srm_checked=results.srm.checked,
        guardrails={
            status: sum(g.status == status for g in results.guardrails) for status in ("pass", "fail", "inconclusive")
        },
        generated_at=results.generated_at,
        report_href=href,
    )


def index_entries(reports_dir: Path) -> list[IndexEntry]:
    """Every `reports_dir/*/results.json`, newest analysis first; unreadable ones last."""
    entries = [_entry(path.parent) for path in Path(reports_dir).glob(f"*/{RESULTS_NAME}")]
    return sorted(
        entries,
        key=lambda e: (e.generated_at is None, -e.generated_at.timestamp() if e.generated_at else 0, e.folder),
    )


def write_index(reports_dir: Path) -> Path:
    """Write `reports_dir/index.html` listing every experiment folder (and the history page, once written)."""
    reports_dir = Path(reports_dir)
    entries = index_entries(reports_dir)
    history_href = HISTORY_NAME if (reports_dir / HISTORY_NAME).exists() else None
    html = (
        environment()
        .get_template("index.html.j2")
        .render(entries=entries, history_href=history_href, generated_at=datetime.now(UTC))
    )
    path = write_atomic(reports_dir / INDEX_NAME, html)
    logger.info("wrote index of %d experiments to %s", len(entries), path)
    return path
