"""The global holdout against everyone exposed: fan-out copies counted once, users outside both left out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis import analyze
from analysis.errors import NoDataError
from analysis.holdout import HoldoutSource, holdout_plan
from event_logging.schema import BaseEvent, ClickEvent, ImpressionEvent, SearchEvent
from event_logging.store import EventStore

START = datetime(2026, 2, 1, tzinfo=UTC)


def _request(user: str, request: str, hour: int, tags: list[tuple[str, str]], clicks: int) -> list[BaseEvent]:
    """One search with two impressions and `clicks` clicks, logged once per (experiment, variant) tag."""
    events: list[BaseEvent] = []
    for experiment, variant in tags:
        common = dict(request_id=request, user_id=user, experiment=experiment, variant=variant, query_image_id="q")
        ts = datetime(2026, 2, 2, hour, tzinfo=UTC)
        events.append(SearchEvent(**common, ts=ts, latency_ms=50, result_count=2, status_code=200))
        events += [
            ImpressionEvent(**common, ts=ts.replace(second=1 + p), result_image_id=f"r{p}", position=p, score=0.5)
            for p in (1, 2)
        ]
        events += [
            ClickEvent(**common, ts=ts.replace(second=5 + c), result_image_id=f"r{c + 1}", position=c + 1)
            for c in range(clicks)
        ]
    return events


def holdout_events() -> list[BaseEvent]:
    return [
        *_request("h1", "h1-a", 9, [("", "holdout")], clicks=1),
        *_request("e1", "e1-a", 10, [("enc", "treatment"), ("rerank", "control")], clicks=1),  # fan-out: two copies
        *_request("e2", "e2-a", 11, [("enc", "control")], clicks=0),
        *_request("d1", "d1-a", 12, [("", "default")], clicks=2),  # neither: left out
        *_request("h2", "h2-old", 8, [("", "holdout")], clicks=2)[:1],  # only a search
    ]


@pytest.mark.integration
def test_holdout_counts_each_request_once_and_leaves_out_unassigned_users(store: EventStore) -> None:
    store.insert_events(holdout_events())
    data = HoldoutSource(store, "test").load(holdout_plan(START, None))
    arms = {arm: (m.n, m.total("searches"), m.total("impressions"), m.total("clicks")) for arm, m in data.arms.items()}
    assert arms == {"holdout": (2, 2, 2, 1), "exposed": (2, 2, 4, 1)}
    results = analyze(data, holdout_plan(START, None))
    assert results.kind == "holdout" and results.control == "holdout" and results.decisions == []
    assert not results.srm.checked and results.srm.observed == {"holdout": 2, "exposed": 2}
    assert {r.variant for r in results.results} == {"exposed"} and results.primary_metric == "ctr"


@pytest.mark.integration
def test_no_held_out_users_is_no_data(store: EventStore) -> None:
    store.insert_events(_request("e1", "e1-a", 10, [("enc", "treatment")], clicks=1))
    with pytest.raises(NoDataError, match="no held-out users"):
        HoldoutSource(store, "test").load(holdout_plan(START, None))
