"""Users the global holdout keeps out of every experiment are logged as variant "holdout", clicks included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from experiments import in_holdout, load_experiments
from search_core.catalog import Catalog
from tests.serving.conftest import (
    PLATFORM_YAML,
    RANKING_YAML,
    make_config,
    memory_app,
    stored_events,
    write_experiments,
)

HOLDOUT_PLATFORM = PLATFORM_YAML + "holdout: {share: 0.5, salt: global-holdout}\n"


@pytest.fixture(scope="module")
def holdout_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {"platform.yaml": HOLDOUT_PLATFORM, "enc-v1.yaml": RANKING_YAML}
    return write_experiments(tmp_path_factory.mktemp("holdout-experiments"), files)


@pytest.fixture(scope="module")
def holdout_app(
    artifacts_dir: Path, holdout_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, TestClient]]:
    chdb = tmp_path_factory.mktemp("holdout-chdb")
    app = memory_app(make_config(artifacts_dir, holdout_dir, chdb, tmp_path_factory.mktemp("holdout-spool")))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client


def test_held_out_users_are_tagged_holdout_and_exposed_users_are_not(
    holdout_app: tuple[FastAPI, TestClient], holdout_dir: Path, catalog: Catalog
) -> None:
    app, client = holdout_app
    exp_set = load_experiments(holdout_dir)
    users = [f"user-{i}" for i in range(40)]
    held = next(u for u in users if in_holdout(exp_set, u))
    exposed = next(u for u in users if not in_holdout(exp_set, u))
    bodies = {}
    for user in (held, exposed):
        resp = client.post("/v1/search", json={"image_id": catalog.query_ids[0], "k": 3}, headers={"X-User-Id": user})
        assert resp.status_code == 200, resp.text
        bodies[user] = resp.json()
    assert (bodies[held]["experiment"], bodies[held]["variant"]) == ("", "holdout")
    assert bodies[exposed]["experiment"] == "enc-v1"
    first = bodies[held]["results"][0]
    click = {"event_type": "click", "request_id": bodies[held]["request_id"], "result_image_id": first["image_id"],
             "position": first["position"]}  # fmt: skip
    assert client.post("/v1/events", json=click, headers={"X-User-Id": held}).status_code == 202
    stored = stored_events(app, bodies[held]["request_id"])
    assert {(e["event_type"], e["experiment"], e["variant"]) for e in stored} == {
        ("search", "", "holdout"),
        ("impression", "", "holdout"),
        ("click", "", "holdout"),
    }
