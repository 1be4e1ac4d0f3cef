"""Errors raised by `experiments`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `ExperimentsError` into a one-line message and exit code 2.
"""


class ExperimentsError(Exception):
    """Base of every expected error raised by `experiments`."""
