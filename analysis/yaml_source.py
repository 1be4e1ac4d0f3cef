"""A YAML file read into plain data with the line of every key and list item, for `file:line field: message`.

Metric files are small and written by people, so the reader is strict where a permissive one could be abused or
could mislead: aliases and anchors are refused (no "billion laughs" expansion, no value silently shared between
two metrics), nesting is bounded, the file size too, and a key written twice is an error instead of PyYAML's
silent last-one-wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]

MAX_BYTES = 1_000_000
MAX_DEPTH = 16


@dataclass(frozen=True, order=True)
class Issue:
    """One problem of a definition file, where it is: `file:line field: message`."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def field_name(loc: Loc) -> str:
    """`("metrics", 2, "numerator", "event")` → `metrics[2].numerator.event`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class YamlDocument:
    """The data of one file and the line where each key or item starts."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, else of its nearest ancestor that was written (a missing key: its parent's line)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1

    def issue(self, loc: Loc, message: str) -> Issue:
        return Issue(self.file, self.line(loc), field_name(loc), message)


class _Reader:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file, self.loader = file, loader
        self.lines: dict[Loc, int] = {}
        self.issues: list[Issue] = []
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.issues.append(Issue(self.file, node.start_mark.line + 1, field_name(loc), message))

    def value(self, node: yaml.Node, loc: Loc) -> Any:
        if id(node) in self.seen or getattr(node, "anchor", None):
            self.fail(node, loc, "anchors and aliases (&name, *name) are not allowed in metric files")
            return None
        self.seen.add(id(node))
        if len(loc) > MAX_DEPTH:
            self.fail(node, loc, f"nested deeper than {MAX_DEPTH} levels")
            return None
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    self.fail(key_node, loc, f"key {getattr(key_node, 'value', '?')!r} is not a text key; quote it")
                elif key in mapping:
                    self.fail(key_node, (*loc, key), f"duplicate key (first at line {self.lines[(*loc, key)]})")
                else:
                    self.lines[(*loc, key)] = key_node.start_mark.line + 1
                    mapping[key] = self.value(value_node, (*loc, key))
                    self.lines[(*loc, key)] = key_node.start_mark.line + 1
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node)


def read_yaml(path: Path, file: str | None = None) -> tuple[YamlDocument | None, list[Issue]]:
    """Parse one file (`file`: its name in messages, default the path); on any problem return what was found, each
    with its line (no exception escapes)."""
    file = file or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [Issue(file, 1, "", f"file is {size:,} bytes; metric files are at most {MAX_BYTES:,}")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Issue(file, 1, "", f"cannot read file: {exc}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Issue(file, 1, "", "file is empty")]
        reader = _Reader(file, loader)
        data = reader.value(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [Issue(file, mark.line + 1 if mark else 1, "", message)]
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        return None, [Issue(file, 1, "", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return YamlDocument(file, data, reader.lines), reader.issues
