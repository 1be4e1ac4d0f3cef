"""Errors raised by `search_core`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `SearchCoreError` into a one-line message and exit code 2.
"""


class SearchCoreError(Exception):
    """Base of every expected error raised by `search_core`."""
