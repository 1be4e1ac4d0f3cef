"""The analysis `vsx serve` hands to the app to refresh reports (`serving.reports.ReportRefresher`).

The analysis stack (scipy, pandas, matplotlib) is imported at the first refresh, not when a worker starts:
a server that is never asked for a report does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable

from serving.errors import ReportFailedError
from vsx.errors import is_a, is_expected
from vsx.settings import Settings


def report_refresher(settings: Settings) -> Callable[[str], None]:
    """Analyse one experiment into `settings.reports_dir`, as `vsx analyze NAME` does.

    An unknown experiment stays `UnknownExperimentError` (404); any other expected error — no users yet,
    the store unreachable, an artifact gone — becomes `ReportFailedError` (409) with its message.
    """

    def refresh(name: str) -> None:
        from vsx.pipelines.reporting import report_experiment

        try:
            report_experiment(settings, name)
        except Exception as exc:
            if is_a(exc, "experiments.errors", "UnknownExperimentError") or not is_expected(exc):
                raise
            raise ReportFailedError(f"cannot analyse {name!r} now: {exc}") from exc

    return refresh
