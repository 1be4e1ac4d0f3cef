"""`to_columns`: every event's values land in its own row, absent fields take the column defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from event_logging.columns import EVENT_COLUMNS, to_columns
from event_logging.schema import (
    ClickEvent,
    DwellEvent,
    ImpressionEvent,
    SearchEvent,
)

TS = datetime(2026, 12, 5, 23, 30, 15, 250000, tzinfo=UTC)
COMMON = dict(request_id="r1", user_id="u1", experiment="exp", variant="treatment", query_image_id="q7")
DEFAULTS = {"result_image_id": "", "position": 0, "score": 0.0, "latency_ms": 0.0, "result_count": 0,
            "status_code": 0, "dwell_ms": 0.0, "layer": "", "salt": "", "hash_version": 0, "team": "",
            "attribution": "", "attr_names": [], "attr_values": []}  # fmt: skip


def test_columns_hold_each_event_with_defaults_for_absent_fields() -> None:
    events = [
        SearchEvent(
            **COMMON,
            ts=TS,
            latency_ms=3.5,
            result_count=2,
            layer="enc",
            salt="s",
            hash_version=1,
            attributes={"platform": "ios", "country": "de"},
        ),
        ImpressionEvent(**COMMON, ts=TS, result_image_id="img1", position=1, score=0.75, team="A"),
        ClickEvent(**COMMON, ts=TS, result_image_id="img1", position=1),
        ImpressionEvent(**COMMON, ts=TS, result_image_id="img2", position=2, score=0.5),
        DwellEvent(**COMMON, ts=TS, result_image_id="img1", position=1, dwell_ms=1200.0),
        # an event keeps the offset it was given; its row is in UTC (locally it is already the next day)
        SearchEvent(**COMMON, ts=TS.astimezone(timezone(timedelta(hours=2))), latency_ms=1.0, result_count=0),
    ]
    columns = to_columns(events)
    assert [len(c) for c in columns] == [len(events)] * len(EVENT_COLUMNS)
    rows = {row[3]: dict(zip(EVENT_COLUMNS, row, strict=True)) for row in zip(*columns, strict=True)}
    for event in events:
        row = rows[str(event.event_id)]
        assert (row["event_date"], row["ts"], row["ts_ms"]) == (date(2026, 12, 5), 1796513415, 1796513415250)
        attributes = getattr(event, "attributes", {})
        fields = {**event.__dict__, "attr_names": list(attributes), "attr_values": list(attributes.values())}
        for name in EVENT_COLUMNS[4:]:
            expected = fields[name] if name in fields else DEFAULTS[name]
            assert row[name] == expected, (event.event_type, name)
