"""Errors raised by `dashboards`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `DashboardsError` into a one-line message and exit code 2.
"""


class DashboardsError(Exception):
    """Base of every expected error raised by `dashboards`."""
