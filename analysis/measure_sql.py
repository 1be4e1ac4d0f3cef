"""SQL expressions of measures: per-user aggregates over deduplicated events, one dialect for 18.16 and chdb.

Identifiers come only from `Measure` (whose event type and columns were checked against the events table) and
from this module's own names; every value a definition carries (filter values, attribute names, windows, caps)
is a `%(name)s` parameter rendered by the store (`event_logging.sql_text`). Inner queries expose each event
column read as `c_<column>` so no output alias can equal a column name (18.16 substitutes such aliases into
aggregates).

Deduplication by event id (delivery is at-least-once): `count` counts distinct event ids (`eid`, the 64-bit
`cityHash64(event_id)`; see `analysis.queries`), `sum` adds a column over distinct (event id, value) pairs,
`count_distinct` counts distinct values, `any` is whether a distinct event exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from analysis.measures import Filter, Measure
from event_logging.columns import EVENT_COLUMNS
from event_logging.schema import EVENT_TYPES


class SqlParams:
    """Values of one query, named as they are added (`%(v0)s`, `%(v1)s`, ...), beside fixed ones."""

    def __init__(self, fixed: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(fixed or {})
        self._count = 0

    def add(self, value: Any) -> str:
        name = f"v{self._count}"
        self._count += 1
        self.values[name] = value
        return f"%({name})s"


def column_ref(column: str) -> str:
    """The inner alias of an event column; refuses anything that is not one."""
    if column not in EVENT_COLUMNS:
        raise ValueError(f"not a column of the events table: {column!r}")
    return f"c_{column}"


def event_columns(measures: Iterable[Measure], *, attributes: bool = False) -> list[str]:
    """The event columns the measures read (the aggregated and filtered ones), plus the attribute arrays when a
    filter or a segment reads attributes."""
    measures = list(measures)
    columns = list(dict.fromkeys(c for m in measures for c in m.event_columns))
    if attributes or any(m.reads_attributes for m in measures):
        columns += ["attr_names", "attr_values"]
    return list(dict.fromkeys(columns))


def attribute_sql(name_param: str) -> str:
    """A user attribute of the event ('' when absent: `arrayElement` at index 0 reads the default)."""
    return f"c_attr_values[indexOf(c_attr_names, {name_param})]"


_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "IN", "not in": "NOT IN"}


def filter_sql(item: Filter, params: SqlParams) -> str:
    target = attribute_sql(params.add(item.attribute)) if item.attribute else column_ref(item.column or "")
    value = params.add(item.value if not isinstance(item.value, tuple) else tuple(item.value))
    return f"{target} {_OPS[item.op]} {value}"


def condition_sql(measure: Measure, period: str, params: SqlParams, first: str = "exposed_ms") -> str:
    """When an event counts for `measure`: the period flag (`post`, `pre` or `1`), its type, filters, window."""
    if measure.event not in EVENT_TYPES:
        raise ValueError(f"not an event type: {measure.event!r}")
    parts = [period, f"event_type = '{measure.event}'", *(filter_sql(f, params) for f in measure.filters)]
    if measure.window_ms is not None and period != "pre":
        parts.append(f"ts_ms < {first} + {params.add(int(measure.window_ms))}")
    return " AND ".join(parts)


def aggregate_sql(measure: Measure, period: str, params: SqlParams, first: str = "exposed_ms") -> str:
    """The per-user aggregate of a measure over events of `period`, deduplicated by event id."""
    condition = condition_sql(measure, period, params, first)
    if measure.aggregate == "count":
        return f"uniqExactIf(eid, {condition})"
    if measure.aggregate == "any":
        return f"toUInt8(uniqExactIf(eid, {condition}) > 0)"
    column = column_ref(measure.column or "")
    if measure.aggregate == "count_distinct":
        return f"uniqExactIf({column}, {condition})"
    return f"arraySum(arrayMap(d -> d.2, groupUniqArrayIf((eid, toFloat64({column})), {condition})))"


def aggregates_sql(columns: Sequence[tuple[Measure, str]], params: SqlParams, first: str = "exposed_ms") -> str:
    """`aggregate AS m0, aggregate AS m1, ...` for (measure, period) pairs, in order."""
    return ",\n        ".join(
        f"{aggregate_sql(measure, period, params, first)} AS m{i}" for i, (measure, period) in enumerate(columns)
    )


def capped_sql(value: str, cap: str) -> str:
    """`value` capped at `cap`; a cap of 0 caps nothing (see `analysis.capping`). Floats on both sides: 18.16 has
    no `least` of an integer count and a float cap."""
    return f"if({cap} > 0, least(toFloat64({value}), toFloat64({cap})), toFloat64({value}))"
