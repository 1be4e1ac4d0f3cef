"""Data of a YAML file with the line of every key, and an issue located in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Loc = tuple[str | int, ...]
"""A path into the data: `("variants", 1, "weight")`."""


def format_loc(loc: Loc) -> str:
    """`("variants", 1, "weight")` → `variants[1].weight` (the field names users see in errors)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """One mistake in a configuration file, located well enough to fix it without searching.

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


@dataclass(frozen=True)
class SourceFile:
    """One YAML file: its name as the user gave it, its data, and the line of every key."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest written ancestor (a missing key reports where its parent starts)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.file, self.line(loc), format_loc(loc), message)
