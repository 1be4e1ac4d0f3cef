"""Errors raised by `analysis`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `AnalysisError` into a one-line message and exit code 2.
"""


class AnalysisError(Exception):
    """Base of every expected error raised by `analysis`."""
