"""Fixtures for the data-path tests: stores of both kinds and a small hand-built event set.

The event set is small enough to count by hand; `EXPECTED_PER_USER` is that count. It exercises every
rule of the per-user query: a duplicated click, search and dwell (same event_id stored twice), an
impression logged before the user's first search, pre-period events in no experiment and in another
experiment, a user who switched variants, events before the start, a zero-result and a 5xx search,
and a self-click (query image clicked in its own results). Searches carry user attributes whose value at a
user's first exposure differs from their other searches' (`EXPECTED_PLATFORM`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from event_logging.config import ClickHouseConfig
from event_logging.factory import open_store
from event_logging.schema import BaseEvent, ClickEvent, DwellEvent, ImpressionEvent, SearchEvent
from event_logging.store import EventStore

EXPERIMENT = "exp"
START = datetime(2026, 1, 10, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def _request(user: str, request: str, ts: datetime, variant: str, experiment: str = EXPERIMENT, query: str = "q0"):
    """Builders for the events of one request (`ts` plus a second per event, in logging order)."""
    common = dict(request_id=request, user_id=user, experiment=experiment, variant=variant, query_image_id=query)
    tick = iter(range(1, 100))

    def later() -> datetime:
        return ts.replace(second=next(tick))

    def search(latency: float, result_count: int = 20, status: int = 200, **attributes: str) -> SearchEvent:
        return SearchEvent(**common, ts=ts, latency_ms=latency, result_count=result_count, status_code=status,
                           attributes=attributes)  # fmt: skip

    def impression(position: int, result: str | None = None) -> ImpressionEvent:
        return ImpressionEvent(
            **common, ts=later(), result_image_id=result or f"r{position}", position=position, score=0.5
        )

    def click(position: int, result: str | None = None) -> ClickEvent:
        return ClickEvent(**common, ts=later(), result_image_id=result or f"r{position}", position=position)

    def dwell(position: int, ms: float, result: str | None = None) -> DwellEvent:
        return DwellEvent(
            **common, ts=later(), result_image_id=result or f"r{position}", position=position, dwell_ms=ms
        )

    return search, impression, click, dwell


def hand_built_events() -> list[BaseEvent]:
    """The events as delivered, duplicates included (see the module docstring)."""
    events: list[BaseEvent] = []
    # alice, control: pre-period (no experiment, and another experiment), an early impression, two searches.
    s, i, c, d = _request("alice", "p1", at(5, 10), "default", experiment="")
    events += [s(50, platform="android"), i(1), i(2), c(1), d(1, 1000)]
    _, i, _, _ = _request("alice", "p2", at(6, 10), "x", experiment="other")
    events += [i(1)]
    _, i, _, _ = _request("alice", "a0", at(10, 9), "control")
    events += [i(1)]  # before alice's first search: not counted
    s, i, c, d = _request("alice", "a1", at(10, 10), "control", query="q1")
    click_a1 = c(2)
    events += [s(100, platform="ios", country="de"), i(1), i(2), i(3), click_a1, click_a1, d(2, 5000)]
    s, _, _, _ = _request("alice", "a2", at(11, 8), "control")
    events += [s(120, result_count=0, platform="web")]
    # bob, treatment: a 5xx search logged twice, two clicks in one request, a dwell logged twice.
    s, i, c, d = _request("bob", "b1", at(10, 12), "treatment", query="q1")
    search_b1, dwell_b1 = s(300, status=500, platform="web"), d(1, 3000)
    events += [search_b1, search_b1, i(1), i(2), c(1), c(2), dwell_b1, dwell_b1, d(2, 1000)]
    # carol: treatment first, then served control (counts in treatment); a pre-period search; a self-click.
    s, _, _, _ = _request("carol", "c0", at(8, 9), "default", experiment="")
    events += [s(70)]
    s, i, _, _ = _request("carol", "c1", at(11, 9), "treatment")
    events += [s(80, platform="ios"), i(1)]
    s, i, c, d = _request("carol", "c2", at(12, 9), "control", query="q2")
    events += [s(90, platform="android"), i(1, "q2"), c(1, "q2"), d(1, 2500, "q2")]
    # dave, control: one search, no clicks.
    s, i, _, _ = _request("dave", "d1", at(12, 10), "control")
    events += [s(60), i(1), i(2)]
    # erin: a search in the experiment before its start, then only another experiment: never exposed.
    s, _, _, _ = _request("erin", "e0", at(9, 9), "control")
    events += [s(40, platform="android")]
    s, i, c, _ = _request("erin", "e1", at(11, 9), "x", experiment="other")
    events += [s(40), i(1), c(1)]
    return events


EXPECTED_PER_USER = {
    # user: (arm, first exposure, arms seen,
    #        searches, impressions, clicks, dwell_ms, successful, zero_result, errors,
    #        pre_searches, pre_impressions, pre_clicks, pre_dwell_ms, pre_successful)
    "alice": ("control", at(10, 10), 1, 2, 3, 1, 5000.0, 1, 1, 0, 1, 3, 1, 1000.0, 1),
    "bob": ("treatment", at(10, 12), 1, 1, 2, 2, 4000.0, 1, 0, 1, 0, 0, 0, 0.0, 0),
    "carol": ("treatment", at(11, 9), 2, 2, 2, 1, 2500.0, 1, 0, 0, 1, 0, 0, 0.0, 0),
    "dave": ("control", at(12, 10), 1, 1, 2, 0, 0.0, 0, 0, 0, 0, 0, 0, 0.0, 0),
}

EXPECTED_PLATFORM = {"alice": "ios", "bob": "web", "carol": "ios", "dave": ""}
"""Each exposed user's platform at first exposure (alice and carol report others later, alice before)."""

DWELL_VALUES = {"control": {"alice": [5000.0]}, "treatment": {"bob": [3000.0, 1000.0], "carol": [2500.0]}}
LATENCY_VALUES = {
    "control": {"alice": [100.0, 120.0], "dave": [60.0]},
    "treatment": {"bob": [300.0], "carol": [80.0, 90.0]},
}


@pytest.fixture(params=["clickhouse", "chdb"])
def store(request: pytest.FixtureRequest) -> Iterator[EventStore]:
    """A migrated, empty store: a fresh database on the ClickHouse 18.16 server, then a fresh chdb session."""
    if request.param == "clickhouse":
        store = open_store(clickhouse=ClickHouseConfig(url=request.getfixturevalue("clickhouse_db_url")))
    else:
        store = open_store(chdb_path=request.getfixturevalue("chdb_path"))
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def loaded_store(store: EventStore) -> EventStore:
    """The store holding the hand-built events."""
    store.insert_events(hand_built_events())
    return store
