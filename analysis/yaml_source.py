"""A metric file read into plain data with the line of every key and list item (`config_files.SourceFile`), for
`file:line field: message`.

Metric files are small and written by people, so the reader is strict where a permissive one could be abused or
could mislead: aliases and anchors are refused (no "billion laughs" expansion, no value silently shared between
two metrics), nesting is bounded, the file size too, and a key written twice is an error instead of PyYAML's
silent last-one-wins.

A reader of its own beside `experiments.yaml_lines` because the policies differ where users see it: metric files
refuse anchors outright and report nesting at the field, experiment files bound alias expansion and refuse the
file; one reader in `config_files` would need a switch for each difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config_files import ConfigIssue, Loc, SourceFile, format_loc

MAX_BYTES = 1_000_000
MAX_DEPTH = 16


class _Reader:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file, self.loader = file, loader
        self.lines: dict[Loc, int] = {}
        self.issues: list[ConfigIssue] = []
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.issues.append(ConfigIssue(self.file, node.start_mark.line + 1, format_loc(loc), message))

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


def read_metric_file(path: Path, file: str | None = None) -> tuple[SourceFile | None, list[ConfigIssue]]:
    """Parse one file (`file`: its name in messages, default the path); on any problem return what was found, each
    with its line (no exception escapes)."""
    file = file or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [ConfigIssue(file, 1, "", f"file is {size:,} bytes; metric files are at most {MAX_BYTES:,}")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigIssue(file, 1, "", f"cannot read file: {exc}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [ConfigIssue(file, 1, "", "file is empty")]
        reader = _Reader(file, loader)
        data = reader.value(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [ConfigIssue(file, mark.line + 1 if mark else 1, "", message)]
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        return None, [ConfigIssue(file, 1, "", f"invalid YAML: {exc}")]
    finally:
        loader.dispose()
    return SourceFile(file, data, reader.lines), reader.issues
