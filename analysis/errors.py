"""Errors raised by `analysis`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `AnalysisError` into a one-line message and exit code 2.
"""


class AnalysisError(Exception):
    """Base of every expected error raised by `analysis`."""


class StatsInputError(AnalysisError, ValueError):
    """Malformed input to the stats engine: negative counts, non-finite sums, mismatched statistic types.

    A *degenerate* experiment (zero variance, zero baseline, too few users) is not an error: it gets a
    `Comparison` with `None` fields and a note code instead.
    """


class NoDataError(AnalysisError, LookupError):
    """The experiment has no exposed users in the source (wrong name, wrong store, nothing logged yet)."""


class PerUserFileError(AnalysisError, ValueError):
    """A per-user file that cannot be read: missing columns, non-numeric values (line and column named)."""


class UndefinedMetricError(AnalysisError, LookupError):
    """A metric name that no definition (built-in or metric YAML) in the catalogue gives."""


class UnknownVariantError(AnalysisError, LookupError):
    """The control (or a `--weights` entry) names a variant absent from the data."""


class AnalysisPlanError(AnalysisError, ValueError):
    """An analysis plan that cannot be carried out (no start time for an event store, bad weights)."""


class ResultsVersionError(AnalysisError, ValueError):
    """A results.json written under another schema version than this code reads."""


class MetricDefinitionError(AnalysisError, ValueError):
    """Metric files that cannot be used; `issues` lists every problem as `file:line field: message`."""

    def __init__(self, issues: list) -> None:
        self.issues = list(issues)
        shown = "\n".join(str(issue) for issue in self.issues[:50])
        more = f"\n... and {len(self.issues) - 50} more" if len(self.issues) > 50 else ""
        super().__init__(f"{len(self.issues)} problem(s) in metric definitions:\n{shown}{more}")
