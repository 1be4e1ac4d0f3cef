"""YAML parsed with the line of every key, so validation errors can point at `file:line`.

PyYAML's `compose` keeps each node's `start_mark`; we walk the node tree once and record, for every
path (`("variants", 1, "weight")`), the 1-based line where that key (or list item) starts. A key
written twice is an error here: PyYAML would silently keep the last value.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from config_files import ConfigIssue, Loc, SourceFile, format_loc

__all__ = ["Loc", "SourceFile", "format_loc", "read_yaml"]


def read_yaml(path: Path, file: str | None = None) -> tuple[SourceFile | None, list[ConfigIssue]]:
    """Parse one YAML document; on a syntax error return no source and the parser's message at its line."""
    file = file if file is not None else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigIssue(file, 1, "", f"cannot read file: {exc}")]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [ConfigIssue(file, 1, "", "file is empty")]
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        issues: list[ConfigIssue] = []
        _record_lines(loader, node, (), lines, issues, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [ConfigIssue(file, line, "", message)]
    finally:
        loader.dispose()
    return SourceFile(file, data, lines), issues


_MAX_DEPTH = 32  # deeper than any valid file; stops a self-referencing alias (`&a [*a]`) from recursing forever


def _record_lines(
    loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], issues: list[ConfigIssue], file: str
) -> None:
    if len(loc) > _MAX_DEPTH:
        return
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _record_lines(loader, item, (*loc, i), lines, issues, file)
    elif isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a non-scalar"
                message = f"key {shown!r} is not a string (YAML reads it as {key!r}); quote it"
                issues.append(ConfigIssue(file, line, format_loc(loc), message))
                continue
            child = (*loc, key)
            if child in lines:
                issues.append(
                    ConfigIssue(file, line, format_loc(child), f"duplicate key (first at line {lines[child]})")
                )
                continue
            lines[child] = line
            _record_lines(loader, value_node, child, lines, issues, file)
