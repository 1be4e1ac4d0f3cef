"""POST /v1/events: click and dwell reports, attributed to the served assignment, idempotent by event_id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from search_core.catalog import Catalog
from serving.config import ServingConfig
from tests.serving.conftest import make_config, memory_app, stored_events


def search(client: TestClient, catalog: Catalog, user: str, **headers: str) -> dict:
    resp = client.post(
        "/v1/search", json={"image_id": catalog.query_ids[1], "k": 3}, headers={"X-User-Id": user, **headers}
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def report(body: dict, event_type: str, position: int = 1, **extra: object) -> dict:
    result = body["results"][position - 1]
    return {"event_type": event_type, "request_id": body["request_id"], "result_image_id": result["image_id"],
            "position": result["position"], **extra}  # fmt: skip


def test_click_and_dwell_reach_the_store_with_the_served_assignment(
    client: TestClient, app: FastAPI, catalog: Catalog
) -> None:
    body = search(client, catalog, "ivy")
    click_id = uuid.uuid4()
    # The body's experiment/variant are ignored: this process served the request and knows better.
    events = [report(body, "click", event_id=str(click_id), experiment="bogus", variant="bogus"),
              report(body, "dwell", dwell_ms=1234.5)]  # fmt: skip
    resp = client.post("/v1/events", json={"events": events}, headers={"X-User-Id": "ivy"})
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["accepted"] == 2 and accepted["event_ids"][0] == str(click_id)
    stored = {e["event_type"]: e for e in stored_events(app, body["request_id"])}
    assert stored["click"]["event_id"] == str(click_id)
    assert (stored["click"]["experiment"], stored["click"]["variant"]) == ("enc-v1", body["variant"])
    assert stored["click"]["query_image_id"] == catalog.query_ids[1]
    assert stored["dwell"]["dwell_ms"] == 1234.5
    assert stored["dwell"]["result_image_id"] == body["results"][0]["image_id"]
    assert stored["click"]["attribution"] == stored["dwell"]["attribution"] == "server"
    assert stored["search"]["attribution"] == ""


def test_search_logs_the_users_attributes_on_the_search_event_only(
    client: TestClient, app: FastAPI, catalog: Catalog
) -> None:
    body = search(client, catalog, "ivo", **{"X-Attr-Country": "DE", "X-Attr-App-Version": "3.2"})
    stored = stored_events(app, body["request_id"])
    (logged,) = [e for e in stored if e["event_type"] == "search"]
    attributes = dict(zip(logged["attr_names"], logged["attr_values"], strict=True))
    assert attributes == {"country": "DE", "app_version": "3.2"}
    assert all(e["attr_names"] == [] for e in stored if e["event_type"] != "search")


def test_single_event_body_is_accepted(client: TestClient, catalog: Catalog) -> None:
    body = search(client, catalog, "jack")
    resp = client.post("/v1/events", json=report(body, "click", position=2), headers={"X-User-Id": "jack"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["accepted"] == 1


def test_request_served_elsewhere_is_tagged_from_the_body(client: TestClient, app: FastAPI) -> None:
    request_id = str(uuid.uuid4())  # well-formed, never served by this process (another worker did)
    event = {"event_type": "click", "request_id": request_id, "result_image_id": "x/1.png", "position": 2,
             "experiment": "enc-v1", "variant": "treatment", "query_image_id": "q/1.png"}  # fmt: skip
    resp = client.post("/v1/events", json=event, headers={"X-User-Id": "kim"})
    assert resp.status_code == 202, resp.text
    (stored,) = stored_events(app, request_id)
    assert (stored["experiment"], stored["variant"], stored["query_image_id"]) == ("enc-v1", "treatment", "q/1.png")
    assert stored["attribution"] == "client"  # regression: marked, so analysis can tell it was not verified


def test_a_click_on_another_users_request_is_refused(client: TestClient, app: FastAPI, catalog: Catalog) -> None:
    """Regression: it was accepted and logged with the first user's assignments (the owner was never compared)."""
    body = search(client, catalog, "owner")
    foreign = client.post("/v1/events", json=report(body, "click"), headers={"X-User-Id": "intruder"})
    assert foreign.status_code == 403, foreign.text
    message = f"request {body['request_id']} was served to another user"
    assert foreign.json()["error"] == {"code": "foreign_request", "message": message}
    mixed = {"events": [report(body, "dwell", dwell_ms=5), report(search(client, catalog, "intruder"), "click")]}
    assert client.post("/v1/events", json=mixed, headers={"X-User-Id": "intruder"}).status_code == 403
    own = client.post("/v1/events", json=report(body, "click"), headers={"X-User-Id": "owner"})
    assert own.status_code == 202, own.text
    stored = stored_events(app, body["request_id"])
    assert [(e["event_type"], e["user_id"]) for e in stored if e["event_type"] in ("click", "dwell")] == [
        ("click", "owner")
    ]


def test_untagged_unknown_request_gets_the_default_variant(client: TestClient, app: FastAPI) -> None:
    request_id = str(uuid.uuid4())
    event = {
        "event_type": "dwell",
        "request_id": request_id,
        "result_image_id": "x/1.png",
        "position": 1,
        "dwell_ms": 5,
    }
    assert client.post("/v1/events", json=event, headers={"X-User-Id": "lee"}).status_code == 202
    (stored,) = stored_events(app, request_id)
    assert (stored["experiment"], stored["variant"]) == ("", "default")


def test_retried_click_keeps_its_event_id_in_every_layer(client: TestClient, app: FastAPI, catalog: Catalog) -> None:
    body = search(client, catalog, "max", **{"X-Attr-Platform": "web"})  # two layers: two copies per event
    event = report(body, "click", event_id=str(uuid.uuid4()))
    for _ in range(2):  # a client retry sends the same event again
        assert client.post("/v1/events", json=event, headers={"X-User-Id": "max"}).status_code == 202
    clicks = [e for e in stored_events(app, body["request_id"]) if e["event_type"] == "click"]
    by_experiment = {}  # (the store may already have collapsed the copies: ReplacingMergeTree by event_id)
    for c in clicks:
        by_experiment.setdefault(c["experiment"], set()).add(c["event_id"])
    assert sorted(by_experiment) == ["enc-v1", "rerank-v1"]
    assert all(len(ids) == 1 for ids in by_experiment.values())  # analysis dedupes the retry per experiment
    assert len(set().union(*by_experiment.values())) == 2


def test_client_time_is_ignored_unless_trusted(client: TestClient, app: FastAPI) -> None:
    request_id = str(uuid.uuid4())
    event = {"event_type": "click", "request_id": request_id, "result_image_id": "x/1.png", "position": 1}
    headers = {"X-User-Id": "ned", "X-Vsx-Time": "2021-05-01T12:00:00+00:00"}
    assert client.post("/v1/events", json=event, headers=headers).status_code == 202
    (ts,) = [e["ts"] for e in stored_events(app, request_id)]
    assert ts.year == datetime.now(UTC).year


def test_trusted_client_time_sets_timestamps_and_experiment_windows(
    config: ServingConfig, catalog: Catalog, tmp_path: Path
) -> None:
    """For the traffic simulator: `X-Vsx-Time` is "now" (enc-v1 starts 2020-01-01, so in 2019 nobody is in it)."""
    simulated = make_config(config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path,
                            trust_client_time=True)  # fmt: skip
    app = memory_app(simulated)
    with TestClient(app) as client:
        for when, experiment in (("2019-06-01T10:00:00+00:00", ""), ("2021-06-01T10:00:00Z", "enc-v1")):
            headers = {"X-User-Id": "sim", "X-Vsx-Time": when}
            body = client.post("/v1/search", json={"image_id": catalog.query_ids[0]}, headers=headers).json()
            assert body["experiment"] == experiment
            (search,) = [e for e in stored_events(app, body["request_id"]) if e["event_type"] == "search"]
            ts = search["ts"]
            assert ts == datetime.fromisoformat(when.replace("Z", "+00:00")).replace(tzinfo=None)
        bad = client.post("/v1/search", json={"image_id": catalog.query_ids[0]},
                          headers={"X-User-Id": "sim", "X-Vsx-Time": "yesterday"})  # fmt: skip
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_client_time"


@pytest.mark.parametrize(
    ("when", "why"),
    [
        ("9999-12-31T23:59:59-01:00", "outside the years 1-9999 in UTC"),  # regression: OverflowError, a 500
        ("0001-01-01T00:00:00+01:00", "outside the years 1-9999 in UTC"),
        ("1969-12-31T23:59:59Z", "outside what the event store holds (1970-01-01 to 2106-02-07)"),
        ("2200-01-01T00:00:00+00:00", "outside what the event store holds"),
    ],
)
def test_trusted_client_time_outside_the_store_is_a_422(
    config: ServingConfig, catalog: Catalog, tmp_path: Path, when: str, why: str
) -> None:
    """Regression: a pre-1970 time made the embedded sink refuse its whole batch (19 events, other users' too)."""
    simulated = make_config(config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path,
                            trust_client_time=True)  # fmt: skip
    with TestClient(memory_app(simulated)) as client:
        headers = {"X-User-Id": "sim", "X-Vsx-Time": when}
        search_resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0]}, headers=headers)
        event = {"event_type": "click", "request_id": str(uuid.uuid4()), "result_image_id": "x/1.png", "position": 1}
        events_resp = client.post("/v1/events", json=event, headers=headers)
        for resp in (search_resp, events_resp):
            assert resp.status_code == 422, resp.text
            assert resp.json()["error"]["code"] == "invalid_client_time" and why in resp.json()["error"]["message"]


def test_a_client_time_window_bounds_the_skew_from_the_server_clock(
    config: ServingConfig, catalog: Catalog, tmp_path: Path
) -> None:
    simulated = make_config(config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path,
                            trust_client_time=True, client_time_window=timedelta(days=1))  # fmt: skip
    now = datetime.now(UTC)
    with TestClient(memory_app(simulated)) as client:
        for skew, status in ((timedelta(hours=-20), 200), (timedelta(hours=20), 200), (timedelta(days=-2), 422)):
            headers = {"X-User-Id": "sim", "X-Vsx-Time": (now + skew).isoformat()}
            resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0]}, headers=headers)
            assert resp.status_code == status, resp.text
        assert "more than 1 day, 0:00:00 from the server's clock" in resp.json()["error"]["message"]
