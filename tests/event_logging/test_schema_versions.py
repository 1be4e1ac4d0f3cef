"""Schema versions: a version-1 event stays readable after version 2 added `team` to impressions, versions 1
and 2 of clicks after version 3 added `attribution`, and version-3 searches after version 4 added `attributes`;
attributes are bounded in number and length."""

from __future__ import annotations

import orjson
import pytest

from event_logging.columns import EVENT_COLUMNS, to_columns
from event_logging.schema import (
    MAX_ATTRIBUTE_VALUE,
    MAX_ATTRIBUTES,
    SCHEMA_VERSION,
    ClickEvent,
    ImpressionEvent,
    MalformedEventError,
    SearchEvent,
    parse_event,
    serialize,
)

V1_IMPRESSION = {
    "schema_version": 1,
    "event_type": "impression",
    "event_id": "6610bdb3-797f-432f-9037-2c165493a237",
    "ts": "2026-11-25T13:46:10Z",
    "request_id": "r1",
    "user_id": "u1",
    "result_image_id": "fmnist-train-000001",
    "position": 1,
    "score": 0.9,
}


def test_version_1_impression_parses_with_empty_team() -> None:
    event = parse_event(V1_IMPRESSION)
    assert event.schema_version == 1
    assert event.team == ""
    assert to_columns([event])[EVENT_COLUMNS.index("team")] == [""]


def test_version_2_impression_round_trips_its_team() -> None:
    event = ImpressionEvent(request_id="r", user_id="u", result_image_id="x", position=2, score=0.5, team="B")
    assert event.schema_version == SCHEMA_VERSION == 4
    assert parse_event(serialize(event)).team == "B"


def test_unknown_team_is_refused() -> None:
    with pytest.raises(MalformedEventError, match="team"):
        parse_event({**V1_IMPRESSION, "schema_version": 2, "team": "C"})


@pytest.mark.parametrize("version", [1, 2])
def test_clicks_before_version_3_parse_with_empty_attribution(version: int) -> None:
    old = {**V1_IMPRESSION, "schema_version": version, "event_type": "click"}
    del old["score"]
    event = parse_event(old)
    assert isinstance(event, ClickEvent) and event.attribution == ""
    assert to_columns([event])[EVENT_COLUMNS.index("attribution")] == [""]


def test_version_3_click_round_trips_its_attribution() -> None:
    event = ClickEvent(request_id="r", user_id="u", result_image_id="x", position=1, attribution="client")
    assert parse_event(serialize(event)).attribution == "client"
    with pytest.raises(MalformedEventError, match="attribution"):
        parse_event({**orjson.loads(serialize(event)), "attribution": "trust-me"})


V3_SEARCH = {
    "schema_version": 3,
    "event_type": "search",
    "event_id": "6610bdb3-797f-432f-9037-2c165493a238",
    "ts": "2026-11-25T13:46:10Z",
    "request_id": "r1",
    "user_id": "u1",
    "latency_ms": 3.0,
    "result_count": 10,
}


def test_version_3_search_parses_without_attributes() -> None:
    event = parse_event(V3_SEARCH)
    assert event.attributes == {}
    columns = to_columns([event])
    assert columns[EVENT_COLUMNS.index("attr_names")] == [[]] == columns[EVENT_COLUMNS.index("attr_values")]


def test_version_4_search_round_trips_its_attributes_as_parallel_arrays() -> None:
    event = SearchEvent(request_id="r", user_id="u", latency_ms=1.0, result_count=3,
                        attributes={"platform": "ios", "country": "de"})  # fmt: skip
    assert parse_event(serialize(event)).attributes == {"platform": "ios", "country": "de"}
    columns = to_columns([event])
    assert columns[EVENT_COLUMNS.index("attr_names")] == [["platform", "country"]]
    assert columns[EVENT_COLUMNS.index("attr_values")] == [["ios", "de"]]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({f"a{i}": "x" for i in range(MAX_ATTRIBUTES + 1)}, "attributes: Dictionary should have at most 20 items"),
        ({"platform": "x" * (MAX_ATTRIBUTE_VALUE + 1)}, "attributes.platform: String should have at most 256"),
        ({"Platform": "ios"}, "attributes.Platform"),
        ({"p" * 65: "ios"}, "attributes"),
    ],
)
def test_attributes_are_bounded(attributes: dict[str, str], message: str) -> None:
    with pytest.raises(MalformedEventError, match=message):
        parse_event({**V3_SEARCH, "schema_version": 4, "attributes": attributes})
