"""Measures: what one metric counts per user, as checked values the SQL generator can trust.

A `Measure` names an event type and event columns only from the events table's layout
(`event_logging.schema`): constructing one with anything else raises, so no identifier reaches SQL that is not
a known column. Filter values are data, sent as query parameters. The YAML side (`analysis.metric_files`)
reports the same problems with their file and line before any `Measure` is built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from event_logging.columns import NUMERIC_COLUMNS, event_columns
from event_logging.schema import ATTRIBUTE_NAME_PATTERN, EVENT_TYPES

Aggregate = Literal["count", "sum", "count_distinct", "any"]
Period = Literal["post", "pre"]
NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in")
TEXT_OPS = ("=", "!=", "in", "not in")
ATTRIBUTE_EVENT = "search"
"""The event type that carries user attributes."""
_ATTRIBUTE = re.compile(ATTRIBUTE_NAME_PATTERN)
_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
Value = str | float | int
_NOT_READ = frozenset({"ts", "event_type"})
"""Columns a measure never reads: `ts` is a DateTime (windows use milliseconds), the type is the measure's own."""


def column_problem(event: str, column: str, *, numeric: bool = False) -> str | None:
    """Why `column` cannot be read from `event` events (None when it can)."""
    if event not in EVENT_TYPES:
        return f"unknown event type {event!r} (known: {', '.join(EVENT_TYPES)})"
    columns = [c for c in event_columns(event) if c not in _NOT_READ]
    if column not in columns:
        return f"{event} events have no column {column!r} (they have: {', '.join(columns)})"
    if numeric and column not in NUMERIC_COLUMNS:
        return f"column {column!r} of {event} events is text, not a number"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Filter:
    """`column op value` on an event's own column, or on a user attribute of a search (`attribute`)."""

    op: str
    value: Value | tuple[Value, ...]
    column: str | None = None
    attribute: str | None = None

    @property
    def values(self) -> tuple[Value, ...]:
        return self.value if isinstance(self.value, tuple) else (self.value,)

    def problem(self, event: str) -> str | None:
        """Why this filter cannot apply to `event` events (None when it can)."""
        if (self.column is None) == (self.attribute is None):
            return "a filter names exactly one of `column` or `attribute`"
        if (self.op in ("in", "not in")) != isinstance(self.value, tuple):
            return f"op {self.op!r} needs {'a list' if self.op in ('in', 'not in') else 'a single'} value"
        if self.attribute is not None:
            if event != ATTRIBUTE_EVENT:
                return f"user attributes are logged on search events only, not on {event} events"
            if not _ATTRIBUTE.match(self.attribute):
                return f"not an attribute name: {self.attribute!r}"
            if self.op not in TEXT_OPS or not all(isinstance(v, str) for v in self.values):
                return f"attribute {self.attribute!r} holds text: use {', '.join(TEXT_OPS)} with text values"
            return None
        assert self.column is not None
        problem = column_problem(event, self.column)
        if problem:
            return problem
        if self.column in NUMERIC_COLUMNS:
            if self.op not in NUMERIC_OPS or not all(_is_number(v) for v in self.values):
                return f"column {self.column!r} holds numbers: compare it with numbers"
        elif self.op not in TEXT_OPS or not all(isinstance(v, str) for v in self.values):
            return f"column {self.column!r} holds text: use {', '.join(TEXT_OPS)} with text values"
        return None


def measure_problem(
    name: str,
    event: str,
    aggregate: str,
    column: str | None,
    filters: tuple[Filter, ...],
    window_ms: int | None,
) -> tuple[tuple[str | int, ...], str] | None:
    """The first reason a measure cannot be computed from the events table, with the field it is about
    (`("column",)`, `("filters", 1, "column")`), or None."""
    if not _COLUMN_NAME.match(name) or name.startswith("pre_") or len(name) > 64:
        return ("per_user_column",), f"names match [a-z][a-z0-9_]* and do not start with pre_: {name!r}"
    if event not in EVENT_TYPES:
        return ("event",), f"unknown event type {event!r} (known: {', '.join(EVENT_TYPES)})"
    if aggregate not in ("count", "sum", "count_distinct", "any"):
        return ("aggregate",), f"unknown aggregate {aggregate!r}"
    if aggregate in ("sum", "count_distinct"):
        if column is None:
            return ("column",), f"aggregate {aggregate} needs a `column`"
        problem = column_problem(event, column, numeric=aggregate == "sum")
        if problem:
            return ("column",), problem
    elif column is not None:
        return ("column",), f"aggregate {aggregate} takes no `column`"
    if window_ms is not None and window_ms <= 0:
        return ("window_hours",), f"the window must be > 0, got {window_ms} ms"
    for i, item in enumerate(filters):
        problem = item.problem(event)
        if problem:
            return ("filters", i, "attribute" if item.attribute else "column"), problem
    return None


@dataclass(frozen=True)
class Measure:
    """Per user: `aggregate` over events of `event` passing `filters` (within `window_ms` of first exposure).

    `name` is the per-user column it fills (SQL output, per-user CSV); the pre-period twin is `pre_<name>`.
    """

    name: str
    event: str
    aggregate: Aggregate = "count"
    column: str | None = None
    filters: tuple[Filter, ...] = ()
    window_ms: int | None = None

    def __post_init__(self) -> None:
        problem = measure_problem(self.name, self.event, self.aggregate, self.column, self.filters, self.window_ms)
        if problem:
            raise ValueError(f"measure {self.name!r}: {problem[1]}")

    def same_as(self, other: Measure) -> bool:
        """Whether two measures count the same thing (whatever their names)."""
        return (self.event, self.aggregate, self.column, self.filters, self.window_ms) == (
            other.event,
            other.aggregate,
            other.column,
            other.filters,
            other.window_ms,
        )

    @property
    def event_columns(self) -> tuple[str, ...]:
        """Event columns the SQL reads for this measure (the aggregated one and those filtered on)."""
        columns = [self.column] if self.column else []
        columns += [f.column for f in self.filters if f.column]
        return tuple(dict.fromkeys(columns))

    @property
    def reads_attributes(self) -> bool:
        return any(f.attribute for f in self.filters)


@dataclass(frozen=True)
class Capping:
    """A per-user cap: the `percentile` of the pooled arms' per-user values, or a fixed `value`."""

    kind: Literal["percentile", "value"]
    amount: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.amount) or self.amount <= 0 or (self.kind == "percentile" and self.amount > 1):
            raise ValueError(f"capping {self.kind} must be in (0, 1] for a percentile, > 0 for a value: {self.amount}")

    def column(self, name: str) -> str:
        """The capped twin of per-user column `name`: `dwell_ms__p0_999`, `dwell_ms__v60000`."""
        amount = f"{self.amount:g}".replace(".", "_").replace("-", "m").replace("+", "")
        return f"{name}__{self.kind[0]}{amount}"

    def describe(self) -> str:
        return f"at the {self.amount * 100:g}th percentile" if self.kind == "percentile" else f"at {self.amount:g}"
