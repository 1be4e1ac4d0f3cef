"""YAML parsed with the line of every key, so validation errors can point at `file:line`; bounded, because the
files come from people and, through `POST /v1/admin/reload`, from whoever can write the experiments folder.

PyYAML's `compose` keeps each node's `start_mark`; we walk the node tree once and record, for every
path (`("variants", 1, "weight")`), the 1-based line where that key (or list item) starts. A key
written twice is an error here: PyYAML would silently keep the last value.

Before anything is built, the text is held to `MAX_FILE_BYTES`, its nesting (read from the parser's events,
which PyYAML produces without recursion) to `MAX_DEPTH`, and the node graph to `MAX_NODES` once aliases are
expanded: an alias shares a node, but everything after composition (line records, pydantic) walks the
expanded tree, so a few hundred bytes of nested aliases ("billion laughs") would otherwise cost gigabytes.
A value YAML cannot build (`2026-02-30`, `!!float abc`) is reported at its line like a syntax error.

Ours stays rather than ruamel.yaml (which also keeps lines and refuses duplicate keys): these bounds are checked on
PyYAML's events and nodes before anything is built, and would have to be rebuilt around ruamel's composer anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config_files import ConfigIssue, Loc, SourceFile, format_loc
from experiments.errors import ExperimentConfigError

__all__ = ["Loc", "SourceFile", "format_loc", "load_yaml", "parse_yaml", "read_yaml"]


MAX_FILE_BYTES = 256 * 1024
"""Largest YAML file read: an experiment file is a few KB."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings, aliases expanded (a valid experiment file nests 4 levels)."""
MAX_NODES = 100_000
"""Most nodes (scalars, lists, mappings) a document may expand to through its aliases."""


class _Refused(Exception):
    """A document over one of the bounds: a message and the 1-based line where it went over."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it: the same nodes and marks, parsed in C rather than Python."""


class BoundedLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader, except that a scalar it cannot build is a `ConstructorError` at the scalar's line.

    PyYAML's own constructors let Python's errors through unmarked: `datetime(2026, 2, 30)` raises
    ValueError, `float("abc")` for `!!float abc` too.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            shown = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shorten(shown)} as {node.tag.rsplit(':', 1)[-1]}: {exc}", node.start_mark
            ) from None


def shorten(value: object, limit: int = 60) -> str:
    """`repr(value)` cut to `limit` characters: error messages quote what they refuse, never all of it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}…{text[-3:]}"


def read_yaml(path: Path, file: str | None = None) -> tuple[SourceFile | None, list[ConfigIssue]]:
    """Parse one YAML document; on a syntax error, a bound exceeded or an unreadable value return no source and
    one issue at its line."""
    file = file if file is not None else str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            return None, [ConfigIssue(file, 1, "", f"file is larger than {MAX_FILE_BYTES // 1024} KiB")]
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigIssue(file, 1, "", f"cannot read file: {exc}")]
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> tuple[SourceFile | None, list[ConfigIssue]]:
    """`read_yaml` on text already read (`file` names it in issues)."""
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_FILE_BYTES:
        return None, [ConfigIssue(file, 1, "", f"document is larger than {MAX_FILE_BYTES // 1024} KiB")]
    loader = BoundedLoader(text)
    try:
        _check_nesting(text)
        node = loader.get_single_node()
        if node is None:
            return None, [ConfigIssue(file, 1, "", "file is empty")]
        _check_expansion(node)
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        issues: list[ConfigIssue] = []
        _record_lines(loader, node, (), lines, issues, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [ConfigIssue(file, line, "", message)]
    except _Refused as exc:
        return None, [ConfigIssue(file, exc.line, "", exc.message)]
    finally:
        loader.dispose()
    return SourceFile(file, data, lines), issues


def load_yaml(path: Path) -> Any:
    """The data of one bounded YAML file, for readers that need no line numbers; `ExperimentConfigError` else."""
    source, issues = read_yaml(path)
    if source is None or issues:
        raise ExperimentConfigError(issues)
    return source.data


def _check_nesting(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused(event.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose expanded tree (every alias replaced by its anchor's value) is too big or deep.

    Iterative, with sizes and depths memoised per node, so an exponential expansion costs linear time here;
    an alias inside its own anchor (`&a [*a]`, an infinite tree) is refused as well.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key, line = id(node), node.start_mark.line + 1
        if children_done:
            kids = _children(node)
            size[key] = min(1 + sum(size[id(k)] for k in kids), MAX_NODES + 1)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0) if kids else 0
            open_nodes.discard(key)
            if size[key] > MAX_NODES:
                raise _Refused(line, f"aliases expand the document to more than {MAX_NODES:,} nodes")
            if depth[key] > MAX_DEPTH:
                raise _Refused(line, f"aliases nest the document deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _Refused(line, "an alias refers to the anchor it is inside of (an infinite value)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _record_lines(
    loader: BoundedLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], issues: list[ConfigIssue], file: str
) -> None:
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
