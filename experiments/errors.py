"""Errors raised by `experiments`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `ExperimentsError` into a one-line message and exit code 2.
"""

from __future__ import annotations

from config_files import ConfigIssue  # shared with the metric files of analysis; re-exported here


class ExperimentsError(Exception):
    """Base of every expected error raised by `experiments`."""


class ExperimentConfigError(ExperimentsError, ValueError):
    """The experiment files are invalid; carries every issue found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        header = f"{count} error{'s' if count != 1 else ''} in experiment configuration:"
        super().__init__("\n".join([header, *map(str, self.issues)]))


class MissingExperimentsFolderError(ExperimentConfigError):
    """The experiments folder itself is missing: one line naming it, not a list of file issues."""

    def __init__(self, folder: str) -> None:
        super().__init__([ConfigIssue(folder, 0, "", "experiments folder does not exist")])
        self.args = (f"experiments folder does not exist: {folder}",)


class UnknownExperimentError(ExperimentsError, LookupError):
    """No experiment (or no variant of it) has this name."""


class UnsupportedHashVersionError(ExperimentsError, ValueError):
    """A `hash_version` this code does not implement; assigning with a guessed scheme would re-randomise users."""


class PowerInputError(ExperimentsError, ValueError):
    """Impossible power-analysis inputs: a CTR outside (0, 1), a non-positive effect, conflicting variance models."""
