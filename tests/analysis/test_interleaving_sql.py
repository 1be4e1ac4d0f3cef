"""Interleaving statistics from ClickHouse 18.16 and chdb, on a hand-built event set counted by hand.

Four exposed users with known per-query winners, plus everything the SQL must ignore: a click delivered
twice (same event_id), an impression delivered twice, a request without clicks, a click on a result
without a team, events before the start, events of another experiment, and a user who clicked but was
never exposed (no search of the experiment in the window).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from analysis.moments import Moments
from analysis.pipeline import analyze
from analysis.plan import AnalysisPlan
from analysis.sources.data import ExperimentData
from analysis.sources.interleaving import METRIC, interleaving_row, interleaving_stats
from analysis.sources.sql import EventStoreSource
from analysis.stats import InterleavingStats, compare_interleaving
from event_logging.schema import BaseEvent, ClickEvent, ImpressionEvent, SearchEvent
from event_logging.store import EventStore

EXPERIMENT = "il"
START = datetime(2026, 1, 10, tzinfo=UTC)
PLAN = AnalysisPlan(
    EXPERIMENT,
    start=START,
    weights={"control": 0.5, "treatment": 0.5},
    experiment_type="interleaving",
)
TEAMS = {"x1": "A", "x2": "B", "x3": "A", "x4": "B", "x5": ""}
"""The interleaved list of every request: result → team ("" = not credited to either ranker)."""

EXPECTED = {  # user: (wins_a, wins_b, ties)
    "u1": (1, 1, 1),
    "u2": (0, 1, 1),
    "u3": (0, 0, 0),
    "u4": (2, 0, 0),
}


def _request(
    user: str, request: str, day: int, clicked: list[str], *, experiment: str = EXPERIMENT, search: bool = True
) -> list[BaseEvent]:
    """A search (unless `search` is false), the interleaved list's impressions, then the clicks in order."""
    common = dict(request_id=request, user_id=user, experiment=experiment, variant="treatment")
    ts = datetime(2026, 1, day, 12, tzinfo=UTC)
    events: list[BaseEvent] = [SearchEvent(**common, ts=ts, latency_ms=10, result_count=5)] if search else []
    for position, (result, team) in enumerate(TEAMS.items(), start=1):
        events.append(
            ImpressionEvent(
                **common,
                ts=ts.replace(second=position),
                result_image_id=result,
                position=position,
                score=0.5,
                team=team,
            )
        )
    for k, result in enumerate(clicked, start=10):
        position = list(TEAMS).index(result) + 1
        events.append(ClickEvent(**common, ts=ts.replace(second=k), result_image_id=result, position=position))
    return events


def hand_built_events() -> list[BaseEvent]:
    events: list[BaseEvent] = []
    # u1: A wins 2-0 (one click delivered twice), a 1-1 tie, no clicks, B wins 2-1 (an impression delivered twice).
    r1 = _request("u1", "r1", 10, ["x1", "x3"])
    events += [*r1, r1[-2]]
    events += _request("u1", "r2", 10, ["x2", "x1"])
    events += _request("u1", "r3", 11, [])
    r4 = _request("u1", "r4", 11, ["x2", "x2", "x1"])
    events += [*r4, r4[2]]
    events += _request("u1", "o1", 11, ["x1"], experiment="other")  # another experiment
    # u2: B wins; a tie that would be a B win without deduplication; a click on an untracked result only.
    events += _request("u2", "r5", 12, ["x4"])
    r6 = _request("u2", "r6", 12, ["x2", "x1"])
    events += [*r6, r6[-2]]
    events += _request("u2", "r7", 12, ["x5"])
    # u3: exposed, never clicks.
    events += _request("u3", "r8", 12, [])
    # u4: a B win before the start (ignored), then two A wins (2-1 and 1-0).
    events += _request("u4", "r9", 9, ["x2"])
    events += _request("u4", "r10", 10, ["x1", "x4", "x3"])
    events += _request("u4", "r11", 13, ["x3"])
    # u5: searched only before the start; a later request logged without its search: never exposed.
    events += _request("u5", "r12", 9, [])
    events += _request("u5", "r13", 11, ["x1"], search=False)
    return events


def _expected_stats() -> InterleavingStats:
    wins_a, wins_b, ties = (np.array(column, dtype=float) for column in zip(*EXPECTED.values(), strict=True))
    return InterleavingStats.from_values(wins_a, wins_b, ties)


@pytest.mark.integration
def test_interleaving_stats_match_the_hand_count(store: EventStore) -> None:
    store.insert_events(hand_built_events())
    assert interleaving_stats(store, PLAN) == _expected_stats()


@pytest.mark.integration
def test_stats_without_clicks_count_exposed_users(store: EventStore) -> None:
    store.insert_events(_request("u1", "r1", 10, []) + _request("u2", "r2", 11, []))
    assert interleaving_stats(store, PLAN) == InterleavingStats(2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@pytest.mark.integration
def test_analyze_appends_the_interleaving_row_and_skips_srm(store: EventStore) -> None:
    store.insert_events(hand_built_events())
    data = EventStoreSource(store, "test").load(PLAN)
    results = analyze(data, PLAN, interleaving_stats(store, PLAN))
    assert results.srm.p_value is None and results.srm.ok
    assert results.srm.observed == {"control": 0, "treatment": len(EXPECTED)}  # every test user is labelled treatment
    assert results.primary_metric == METRIC and {r.method for r in results.results} == {"interleaving"}
    (row,) = [r for r in results.results if r.method == "interleaving"]
    expected = compare_interleaving(_expected_stats(), alpha=PLAN.alpha)
    assert (row.metric, row.variant, row.n_control) == (METRIC, "treatment", len(EXPECTED))
    assert row.abs_lift == pytest.approx(expected.abs_lift)
    assert row.p_value == pytest.approx(expected.p_value)
    assert row.p_value_adjusted == pytest.approx(expected.p_value)


def test_row_maps_the_comparison_and_explains_degenerate_cases() -> None:
    stats = InterleavingStats.from_values(np.array([0.0, 1, 2, 0]), np.array([3.0, 2, 2, 1]), np.array([1.0, 0, 0, 1]))
    row = interleaving_row(stats, PLAN, "treatment")
    assert (row.method, row.control_mean, row.treatment_mean) == ("interleaving", 3 / 13, 8 / 13)
    assert row.abs_lift == row.rel_lift == pytest.approx(5 / 13)
    assert row.note is None
    empty = interleaving_row(InterleavingStats(3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), PLAN, "treatment")
    assert empty.p_value is None and "no click on an interleaved result" in empty.note


def test_analyze_notes_a_missing_interleaving_input() -> None:
    """A source without events (a per-user file) cannot give the preference: a note, no row."""
    columns = ("searches", "impressions", "clicks")
    values = np.ones((3, len(columns)))
    arms = {v: Moments.from_values(columns, values) for v in ("control", "treatment")}
    results = analyze(ExperimentData(source="file", arms=arms), PLAN)
    assert not [r for r in results.results if r.method == "interleaving"]
    assert any("interleaving preference left out" in n for n in results.notes)
    assert results.srm.observed == {"control": 3, "treatment": 3}
