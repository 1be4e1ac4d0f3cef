"""Errors raised by `dashboards`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `DashboardsError` into a one-line message and exit code 2.
"""


class DashboardsError(Exception):
    """Base of every expected error raised by `dashboards`."""


class ReportLayoutError(DashboardsError, ValueError):
    """A report path outside the layout `reports_dir/<experiment>/report.html`.

    Raised instead of guessing, because the index is rewritten two folders up from the report:
    a report written to `/tmp/x.html` would otherwise rewrite `/index.html`.
    """


class ResultsFileError(DashboardsError, ValueError):
    """A `results.json` that cannot be read or does not match the results contract."""
