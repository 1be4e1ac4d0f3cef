"""Errors of the `vsx` shell itself (settings, services, pipelines)."""


class VsxError(Exception):
    """Base of every expected error raised by the `vsx` command line and its pipelines."""


class CommandInputError(VsxError, ValueError):
    """Options of a command that cannot go together (or one that is missing where another needs it)."""
