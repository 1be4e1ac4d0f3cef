"""Errors raised by `serving`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `ServingError` into a one-line message and exit code 2.
"""


class ServingError(Exception):
    """Base of every expected error raised by `serving`."""
