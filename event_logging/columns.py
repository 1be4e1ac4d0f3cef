"""The `events` table's column layout and events turned into its columns.

The layout must match the migrations beside this module (`event_logging/migrations/`):
`tests/event_logging/test_store_contract.py` compares `EVENT_COLUMNS` with the table both stores create.
The event models themselves live in `event_logging.schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from itertools import repeat
from operator import floordiv, itemgetter, mul
from typing import Any

import orjson

from event_logging.schema import EVENT_MODELS, BaseEvent

EVENT_COLUMNS = (
    "event_date", "ts", "ts_ms", "event_id", "event_type", "schema_version", "request_id", "user_id",
    "experiment", "variant", "query_image_id", "result_image_id", "position", "score", "latency_ms",
    "result_count", "status_code", "dwell_ms", "layer", "salt", "hash_version", "team", "attribution",
    "attr_names", "attr_values",
)  # fmt: skip
"""Column order of the `events` table; `to_columns` produces columns in this order."""
NUMERIC_COLUMNS = frozenset(
    {"ts_ms", "schema_version", "position", "score", "latency_ms", "result_count", "status_code", "dwell_ms",
     "hash_version"}
)  # fmt: skip
"""Columns holding numbers; the other columns of `EVENT_COLUMNS` hold text, except the two attribute arrays."""
ATTRIBUTE_COLUMNS = ("attr_names", "attr_values")
"""`attributes` as stored: parallel arrays of names and values (ClickHouse 18.16 has no Map type)."""


def event_columns(event_type: str) -> tuple[str, ...]:
    """The `events` columns an event type fills from its own fields (the rest hold defaults for it)."""
    fields = EVENT_MODELS[event_type].model_fields
    return tuple(c for c in EVENT_COLUMNS if c in fields)


_EPOCH_DATE = date(1970, 1, 1)
_COMPUTED = frozenset({"event_date", "ts", "ts_ms", "event_id", *ATTRIBUTE_COLUMNS})
_COLUMN_DEFAULTS = {"position": 0, "score": 0.0, "latency_ms": 0.0, "result_count": 0, "status_code": 0,
                    "dwell_ms": 0.0, "hash_version": 0, "attr_names": [], "attr_values": []}  # fmt: skip
"""Values of the numeric columns an event type lacks; string columns default to ""."""


def to_columns(events: Sequence[BaseEvent]) -> list[list[Any]]:
    """The events as `events` table columns in EVENT_COLUMNS order (absent fields take column defaults).

    This is the consumer's inner loop, so it runs in C where it can: events are grouped by type (each type
    has fixed fields; row order within an insert does not matter), each column is a C-level `map` over the
    group's field dicts, the UTC date comes from the epoch day (one `date` per distinct day, not a timezone
    conversion per event), and event ids become text in two orjson calls for the whole column
    (`UUID.__str__` is Python code). Column-major because that is how ClickHouse's native protocol sends a
    block (clickhouse-driver takes the lists as they are). `ts` goes in as whole epoch seconds: both stores
    take an integer for a `DateTime`, and clickhouse-driver skips its per-row timezone conversion for one.
    BENCHMARKS.md, "Event pipeline", step 2, has the measurements.
    """
    groups: dict[type[BaseEvent], list[dict[str, Any]]] = {}
    for event in events:
        groups.setdefault(type(event), []).append(event.__dict__)
    columns: dict[str, list[Any]] = {name: [] for name in EVENT_COLUMNS}
    for kind, fields in groups.items():
        epochs = list(map(datetime.timestamp, map(itemgetter("ts"), fields)))  # aware: the instant, any offset
        seconds = list(map(int, epochs))
        days = list(map(floordiv, seconds, repeat(86_400)))
        dates = {day: _EPOCH_DATE + timedelta(days=day) for day in set(days)}  # the UTC date
        columns["event_date"] += map(dates.__getitem__, days)
        columns["ts"] += seconds
        columns["ts_ms"] += map(int, map(mul, epochs, repeat(1000)))
        columns["event_id"] += orjson.loads(orjson.dumps(list(map(itemgetter("event_id"), fields))))
        names = [name for name in EVENT_COLUMNS if name in kind.model_fields and name not in _COMPUTED]
        for name in names:
            columns[name] += map(itemgetter(name), fields)
        if "attributes" in kind.model_fields:
            attributes = list(map(itemgetter("attributes"), fields))
            columns["attr_names"] += map(list, attributes)
            columns["attr_values"] += map(list, map(dict.values, attributes))
        absent = columns.keys() - kind.model_fields.keys() - _COMPUTED
        if "attributes" not in kind.model_fields:
            absent |= set(ATTRIBUTE_COLUMNS)
        for name in absent:
            columns[name] += [_COLUMN_DEFAULTS.get(name, "")] * len(fields)
    return list(columns.values())
