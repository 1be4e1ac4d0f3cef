"""Interleaving experiments in serving: both rankers run, the merge is team-draft seeded by the request id,
the interleaving experiment's impressions record each result's team, and the analysis reads the clicks back.

Team A is the experiment's control ranker (plain cosine order), team B its treatment (MMR diversity, which
reorders the same candidates), in the `rerank` layer; the `ranking` layer's A/B experiment (Flat vs HNSW
index) runs beside it, so every ranker is the user's full configuration with the other layer's variant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analysis.plan import AnalysisPlan
from analysis.sources.interleaving import interleaving_stats
from event_logging.factory import open_store
from event_logging.store import EventStore
from experiments.assign import ServedVariant
from search_core.catalog import Catalog
from search_core.interleaving import team_draft_interleave
from serving.app import create_app
from serving.config import ServingConfig
from tests.serving.conftest import (
    PLATFORM_YAML,
    RANKING_YAML,
    make_config,
    memory_app,
    stored_events,
    stored_events_in,
    write_experiments,
)

INTERLEAVING_YAML = """\
name: mmr-il
owner: search-team
status: running
type: interleaving
layer: rerank
start: 2020-01-01T00:00:00Z
control: plain
variants:
  - {name: plain, weight: 0.5, rerank: [{name: drop_query}]}
  - {name: diverse, weight: 0.5, rerank: [{name: drop_query}, {name: mmr, lambda: 0.3}]}
primary_metric: ctr
"""

RERANK = {"plain": ({"name": "drop_query"},), "diverse": ({"name": "drop_query"}, {"name": "mmr", "lambda": 0.3})}
INDEX = {"control": ("pixels-flat@1", {}), "treatment": ("pixels-hnsw@1", {"efSearch": 32})}
"""The `ranking` layer's variants (RANKING_YAML): index and its query parameters."""


@pytest.fixture(scope="module")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own event store (overrides conftest's): the preference test counts every exposed user."""
    return tmp_path_factory.mktemp("il-chdb")


@pytest.fixture(scope="module")
def chdb_app(config: ServingConfig) -> Iterator[tuple[TestClient, FastAPI, EventStore]]:
    """The app with its default sink, the embedded chdb store: the real path from a search to the analysis."""
    app = create_app(config)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app, open_store(chdb_path=config.chdb_path)


@pytest.fixture(scope="module")
def experiments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conftest's app and client fixtures (and `chdb_app`) then serve the interleaving experiment beside enc-v1."""
    return write_experiments(
        tmp_path_factory.mktemp("il-experiments"),
        {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": RANKING_YAML, "mmr-il.yaml": INTERLEAVING_YAML},
    )


def _ranking(app: FastAPI, ranking_variant: str, rerank: str, image_id: str, k: int = 8) -> list[str]:
    """One ranker's list, computed straight from the engine the registry loaded for that configuration."""
    state = app.state.service.registry.current
    index, params = INDEX[ranking_variant]
    served = ServedVariant(encoder="pixels@1", index=index, index_params=params, rerank=RERANK[rerank], k=k)
    image = state.catalog.image(image_id)
    return [h.image_id for h in state.engine(served).search(image, k, params=params or None, query_image_id=image_id)]


def _search(client: TestClient, user: str, image_id: str, k: int = 8) -> dict:
    resp = client.post("/v1/search", json={"image_id": image_id, "k": k}, headers={"X-User-Id": user})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_results_are_the_team_draft_merge_of_both_rankers(client: TestClient, app: FastAPI, catalog: Catalog) -> None:
    merged_differs = False
    for i, qid in enumerate(catalog.query_ids[:6]):
        body = _search(client, f"il-user-{i}", qid)
        variants = {a["experiment"]: a["variant"] for a in body["assignments"]}
        assert set(variants) == {"enc-v1", "mmr-il"}  # both layers: the merge is done with the user's index
        team_a = _ranking(app, variants["enc-v1"], "plain", qid)
        team_b = _ranking(app, variants["enc-v1"], "diverse", qid)
        expected = team_draft_interleave(team_a, team_b, 8, seed=body["request_id"])
        assert [r["image_id"] for r in body["results"]] == [item.image_id for item in expected]
        assert [r["position"] for r in body["results"]] == list(range(1, 9))
        index = INDEX[variants["enc-v1"]][0]
        assert body["rankers"] == [{"encoder": "pixels@1", "index": index}] * 2  # team A, team B (rerank differs)
        merged_differs |= team_a != team_b
    assert merged_differs  # the two rankers really disagree, so the merge is not trivially one list


def test_impressions_record_teams_for_the_interleaving_experiment_only(
    client: TestClient, app: FastAPI, catalog: Catalog
) -> None:
    qid = catalog.query_ids[7]
    body = _search(client, "il-teams", qid)
    events = stored_events(app, body["request_id"])
    variant = {a["experiment"]: a["variant"] for a in body["assignments"]}["enc-v1"]
    team_a = _ranking(app, variant, "plain", qid)
    team_b = _ranking(app, variant, "diverse", qid)
    expected = [item.team for item in team_draft_interleave(team_a, team_b, 8, seed=body["request_id"])]
    impressions = {e: [x for x in events if x["experiment"] == e and x["event_type"] == "impression"]
                   for e in ("mmr-il", "enc-v1")}  # fmt: skip
    assert [x["team"] for x in impressions["mmr-il"]] == expected
    assert {"A", "B"} <= set(expected)
    assert [x["team"] for x in impressions["enc-v1"]] == [""] * 8  # an A/B experiment's copy has no team


@pytest.mark.integration  # the embedded chdb store, then the analysis's SQL over it
def test_clicks_on_served_results_become_the_preference(
    chdb_app: tuple[TestClient, FastAPI, EventStore], catalog: Catalog
) -> None:
    """Users who click only on team B's results: every clicked query is a B win in the analysis."""
    client, app, store = chdb_app
    users = [f"il-clicker-{i}" for i in range(5)]
    for user, qid in zip(users, catalog.query_ids[10:15], strict=True):
        body = _search(client, user, qid)
        events = stored_events_in(app, store, body["request_id"])
        team_b = [e for e in events if e["experiment"] == "mmr-il" and e["team"] == "B"]
        first_b = team_b[0]
        click = {"event_type": "click", "request_id": body["request_id"],
                 "result_image_id": first_b["result_image_id"], "position": first_b["position"]}  # fmt: skip
        resp = client.post("/v1/events", json=click, headers={"X-User-Id": user})
        assert resp.status_code == 202, resp.text
    assert app.state.service.sink.flush(timeout=10)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    plan = AnalysisPlan("mmr-il", control="plain", start=start, experiment_type="interleaving")
    stats = interleaving_stats(store, plan)
    assert (stats.sum_wins_a, stats.sum_wins_b, stats.sum_ties) == (0, len(users), 0)
    assert stats.n >= len(users)  # every exposed user of the module counts, clickers or not


def test_a_simulators_request_id_seeds_the_merge(
    config: ServingConfig, client: TestClient, catalog: Catalog, tmp_path: Path
) -> None:
    """With `trust_client_time` (traffic simulation) the client's `X-Vsx-Request-Id` is the request id, so a
    seeded simulation serves the same merged lists on every run; a server facing real users ignores it."""
    trusted = make_config(config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path,
                          trust_client_time=True)  # fmt: skip
    request_id = "6f1c1f2e-8d5b-4c1e-9a53-2d7f9b1c0a11"
    headers = {"X-User-Id": "il-user-0", "X-Vsx-Request-Id": request_id}
    body = {"image_id": catalog.query_ids[0], "k": 8}
    with TestClient(memory_app(trusted)) as simulated:
        first, second = (simulated.post("/v1/search", json=body, headers=headers).json() for _ in range(2))
        bad = simulated.post("/v1/search", json=body, headers={**headers, "X-Vsx-Request-Id": "not-a-uuid"})
    assert first["request_id"] == second["request_id"] == request_id
    assert "mmr-il" in {a["experiment"] for a in first["assignments"]}
    assert first["results"] == second["results"]
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_client_request_id"
    assert client.post("/v1/search", json=body, headers=headers).json()["request_id"] != request_id
