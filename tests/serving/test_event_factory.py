"""Events built for a request: one copy per assignment, with stable derived ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from experiments.assign import Assignment
from search_core.hits import Hit
from serving.event_factory import Exposure, exposures, feedback_events, search_events
from serving.models import ClickIn, DwellIn
from serving.recent_requests import RecentRequests, ServedRequest

TS = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TWO = (Assignment("enc-v1", "treatment", "ranking", "enc-v1", 1), Assignment("rr", "control", "rerank", "rr", 1))


def test_no_assignment_is_the_default_exposure() -> None:
    assert exposures(()) == (Exposure("", "default", "", "", 0),)


def test_search_events_per_exposure() -> None:
    hits = [Hit("a/1.png", 0.9), Hit("b/2.png", 0.8)]
    request_id = uuid.uuid4()
    events = search_events(request_id=request_id, user_id="u", query_image_id="q", tags=exposures(TWO), hits=hits,
                           latency_ms=3.5, status_code=200, ts=TS)  # fmt: skip
    assert [(e.event_type, e.experiment) for e in events] == [
        ("search", "enc-v1"), ("impression", "enc-v1"), ("impression", "enc-v1"),
        ("search", "rr"), ("impression", "rr"), ("impression", "rr"),
    ]  # fmt: skip
    assert events[0].salt == "enc-v1" and events[0].layer == "ranking" and events[0].result_count == 2
    assert [e.position for e in events[1:3]] == [1, 2] and events[2].score == 0.8
    assert {e.request_id for e in events} == {str(request_id)} and {e.ts for e in events} == {TS}


def test_feedback_ids_are_derived_per_experiment_and_stable() -> None:
    body = ClickIn(event_type="click", request_id=uuid.uuid4(), result_image_id="a/1.png", position=1)
    served = ServedRequest("u", "q", TWO)
    base = uuid.uuid4()
    first = feedback_events(body, event_id=base, user_id="u", served=served, ts=TS)
    again = feedback_events(body, event_id=base, user_id="u", served=served, ts=TS)
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == 2 and base not in {e.event_id for e in first}
    assert [(e.experiment, e.variant, e.query_image_id) for e in first] == [
        ("enc-v1", "treatment", "q"),
        ("rr", "control", "q"),
    ]


def test_single_exposure_keeps_the_client_id_and_body_tags() -> None:
    body = DwellIn(event_type="dwell", request_id=uuid.uuid4(), result_image_id="a/1.png", position=3, dwell_ms=900,
                   experiment="enc-v1", variant="control", query_image_id="q/9.png")  # fmt: skip
    base = uuid.uuid4()
    (event,) = feedback_events(body, event_id=base, user_id="u", served=None, ts=TS)
    assert event.event_id == base and event.dwell_ms == 900
    assert (event.experiment, event.variant, event.query_image_id) == ("enc-v1", "control", "q/9.png")


def test_recent_requests_forget_the_oldest() -> None:
    recent = RecentRequests(capacity=2)
    ids = [uuid.uuid4() for _ in range(3)]
    for i in ids:
        recent.remember(i, ServedRequest("u", "", ()))
    assert recent.get(ids[0]) is None and recent.get(ids[2]) is not None and len(recent) == 2


def test_recent_requests_of_no_capacity_remember_nothing() -> None:
    recent = RecentRequests(capacity=0)
    request_id = uuid.uuid4()
    recent.remember(request_id, ServedRequest("u", "", ()))
    assert recent.get(request_id) is None and len(recent) == 0
