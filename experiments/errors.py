"""Errors raised by `experiments`: one base class, children named for what went wrong.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `ExperimentsError` into a one-line message and exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass


class ExperimentsError(Exception):
    """Base of every expected error raised by `experiments`."""


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """One mistake in an experiment file, located well enough to fix it without searching.

    `str()` is the line an editor or CI log can jump to: `experiments/enc.yaml:14 variants[1].weight: must be > 0`
    (`field` is empty for file-level problems such as YAML syntax errors: `experiments/enc.yaml:3: ...`).
    """

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


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
