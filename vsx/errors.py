"""Errors of the `vsx` shell itself (settings, services, pipelines)."""


class VsxError(Exception):
    """Base of every expected error raised by the `vsx` command line and its pipelines."""
