"""Errors of the `vsx` shell itself (settings, services, pipelines), and which errors are expected at all."""

from __future__ import annotations

import sys

# Module → base class of the expected errors it defines. An error of a package can only have been raised if
# that package was imported, so only loaded modules are looked at (importing them all costs seconds).
EXPECTED_ERRORS = {
    "search_core.errors": "SearchCoreError",
    "experiments.errors": "ExperimentsError",
    "event_logging.errors": "EventLoggingError",
    "analysis.errors": "AnalysisError",
    "dashboards.errors": "DashboardsError",
    "serving.errors": "ServingError",
    "vsx.errors": "VsxError",
}


class VsxError(Exception):
    """Base of every expected error raised by the `vsx` command line and its pipelines."""


class SettingsError(VsxError, ValueError):
    """A `VSX_*` variable or `vsx.toml` key has a value the settings refuse."""


class CommandInputError(VsxError, ValueError):
    """Options of a command that cannot go together (or one that is missing where another needs it)."""


class AnalysisInputError(VsxError, ValueError):
    """An analysis asked of the pipelines with an event source or a user attribute they do not know."""


def is_a(exc: BaseException, module: str, name: str) -> bool:
    """Whether `exc` is an instance of `module.name`, looked up only if `module` is already imported."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(exc, cls)


def is_expected(exc: BaseException) -> bool:
    """True for an error the project raises on purpose (bad input, bad config, a service down): one line, exit 2."""
    return any(is_a(exc, module, name) for module, name in EXPECTED_ERRORS.items())
