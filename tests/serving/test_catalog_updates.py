"""POST /v1/admin/catalog against a real running server: added images are found by search right after the
answer, a removed one is not, a restart still finds the additions; bad input changes nothing; a failure
part-way leaves every index as it was; the other workers follow."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.catalog_additions import CatalogAdditions, NewImage, additions_dir
from search_core.encoders import load_encoder
from search_core.index_update import IndexChange, apply_updates, update_index_artifact
from serving.config import ServingConfig
from tests.serving.conftest import (
    ADMIN_TOKEN,
    STANDARD_EXPERIMENTS,
    ThreadedServer,
    make_config,
    memory_app,
    new_pngs,
    top_ids,
    write_experiments,
)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
USERS = [f"user-{i}" for i in range(8)]  # spread over both variants of enc-v1 (Flat and HNSW indexes)


@pytest.fixture
def update_config(artifacts_dir: Path, chdb_dir: Path, tmp_path: Path) -> ServingConfig:
    """A private copy of the artifacts (updates publish new versions) and additions folder."""
    shutil.copytree(artifacts_dir, tmp_path / "artifacts")
    experiments = write_experiments(tmp_path / "experiments", STANDARD_EXPERIMENTS)
    return make_config(
        tmp_path / "artifacts", experiments, chdb_dir, tmp_path / "spool", catalog_additions_dir=tmp_path / "added"
    )


def test_added_images_are_found_removed_ones_are_not_and_a_restart_keeps_them(update_config: ServingConfig) -> None:
    pngs = new_pngs(3)
    ids = ["new/a.png", "new/b.png", "new/c.png"]
    with ThreadedServer(memory_app(update_config)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        before = top_ids(client, pngs[0], USERS[0])
        resp = client.post(
            "/v1/admin/catalog",
            files=[("image", (name, png, "image/png")) for name, png in zip(ids, pngs, strict=True)],
            data={"labels": '{"new/b.png": "Bag"}'},
            headers=AUTH,
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["added"] == ids and body["indexes"] == {
            "pixels-flat@1": "pixels-flat@2",
            "pixels-hnsw@1": "pixels-hnsw@2",
        }
        for user in USERS:  # both indexes: each user's variant finds each new image as its own best match
            for image_id, png in zip(ids, pngs, strict=True):
                assert top_ids(client, png, user)[0] == image_id
        assert new_result_label(client, pngs[1]) == "Bag"
        image = client.get(f"/v1/images/{ids[0]}")
        assert image.status_code == 200 and image.content == pngs[0]
        by_id = client.post("/v1/search", json={"image_id": ids[2]}, headers={"X-User-Id": USERS[1]})
        assert by_id.status_code == 200 and ids[2] not in [r["image_id"] for r in by_id.json()["results"]]

        gone = client.post("/v1/admin/catalog", json={"remove": [ids[0]]}, headers=AUTH)
        assert gone.status_code == 200, gone.text
        assert gone.json()["indexes"] == {"pixels-flat@1": "pixels-flat@3", "pixels-hnsw@1": "pixels-hnsw@3"}
        for user in USERS:
            assert ids[0] not in top_ids(client, pngs[0], user)
        assert top_ids(client, pngs[0], USERS[0]) == before

    with ThreadedServer(memory_app(update_config)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for user in USERS:
            assert top_ids(client, pngs[1], user)[0] == ids[1]
            assert ids[0] not in top_ids(client, pngs[0], user)
        assert client.get(f"/v1/images/{ids[1]}").status_code == 200


def new_result_label(client: httpx.Client, png: bytes) -> str | None:
    resp = client.post("/v1/search", files={"image": ("q.png", png, "image/png")}, headers={"X-User-Id": USERS[0]})
    return resp.json()["results"][0]["label"]


@pytest.mark.parametrize(
    ("files", "data", "json", "status", "code"),
    [
        ([("image", ("x.png", b"not an image", "image/png"))], None, None, 422, "invalid_image"),
        ([("image", ("x.png", b"\x89PNG" + b"0" * 300_000, "image/png"))], None, None, 413, "image_too_large"),
        ([("image", ("x y.png", "GOOD", "image/png"))], None, None, 422, "index_input"),
        ([("image", ("é" * 300 + ".png", "GOOD", "image/png"))], None, None, 422, "index_input"),  # 604 > 512 bytes
        ([("image", ("x.png", "GOOD", "image/png"))], {"labels": '{"x.png": "Nope"}'}, None, 422, "unknown_class"),
        ([("image", ("x.png", "GOOD", "image/png"))], {"labels": "[1]"}, None, 422, "invalid_request"),
        ([("image", ("x.png", "GOOD", "image/png"))], {"labels": '{"y.png": "Bag"}'}, None, 422, "invalid_request"),
        (None, {"remove": "no-such-id"}, None, 404, "unknown_index_item"),
        (None, None, {"remove": []}, 422, "invalid_request"),
        (None, None, {"remove": ["a"], "add": 1}, 422, "invalid_request"),
        ([("image", ("TAKEN", "GOOD", "image/png"))], None, None, 409, "image_conflict"),
    ],
)
def test_bad_updates_get_precise_errors_and_change_nothing(
    update_config: ServingConfig, catalog: Catalog, files: list | None, data: dict | None, json: dict | None,
    status: int, code: str,
) -> None:  # fmt: skip
    good = new_pngs(1)[0]
    if files is not None:
        files = [
            (f, (catalog.query_ids[0] if n == "TAKEN" else n, good if b == "GOOD" else b, t)) for f, (n, b, t) in files
        ]
    with TestClient(memory_app(update_config)) as client:
        resp = client.post("/v1/admin/catalog", files=files, data=data, json=json, headers=AUTH)
        assert resp.status_code == status, resp.text
        assert resp.json()["error"]["code"] == code
        if code in ("invalid_image", "image_too_large"):  # the same error /v1/search gives, naming the file
            search = client.post("/v1/search", files={"image": files[0][1]}, headers={"X-User-Id": "u"})
            assert search.status_code == status and search.json()["error"]["code"] == code
            assert resp.json()["error"]["message"].startswith("x.png: ")
        assert client.get("/readyz").json()["generation"] == 1
    store = ArtifactStore(update_config.artifacts_dir)
    assert [str(m.ref) for m in store.list("index")] == ["pixels-flat@1", "pixels-hnsw@1"]
    assert CatalogAdditions(additions_dir(update_config.catalog_additions_dir, catalog.name)).entries() == []


def test_admin_token_is_required(update_config: ServingConfig) -> None:
    with TestClient(memory_app(update_config)) as client:
        resp = client.post("/v1/admin/catalog", json={"remove": ["x"]})
        assert resp.status_code == 401


def test_a_failure_part_way_leaves_every_index_as_it_was(update_config: ServingConfig, catalog: Catalog) -> None:
    """The HNSW index already holds the image (an earlier offline update of it alone): the live update stages the
    Flat index, then fails on the HNSW one; neither changes, and searches answer as before."""
    png = new_pngs(1)[0]
    store = ArtifactStore(update_config.artifacts_dir)
    additions = CatalogAdditions(additions_dir(update_config.catalog_additions_dir, catalog.name))
    image = NewImage("new/x.png", load_catalog("fashion-mnist").image("fmnist-test-000000")[::-1].copy())
    vectors = load_encoder(store, "pixels@1").embed([image.pixels])
    apply_updates(
        store, [IndexChange(store.manifest("index", "pixels-hnsw@1").ref, [image], vectors)], catalog, additions
    )
    with TestClient(memory_app(update_config)) as client:
        before = {user: top_ids(client, png, user) for user in USERS}
        resp = client.post("/v1/admin/catalog", files=[("image", ("new/x.png", png, "image/png"))], headers=AUTH)
        assert resp.status_code == 422 and "already in the index" in resp.json()["error"]["message"]
        assert {user: top_ids(client, png, user) for user in USERS} == before
        assert client.get("/readyz").json()["generation"] == 1
    assert [str(m.ref) for m in store.list("index")] == ["pixels-flat@1", "pixels-hnsw@1", "pixels-hnsw@2"]


def test_the_other_workers_follow_a_catalog_update(update_config: ServingConfig, tmp_path: Path) -> None:
    """Two apps sharing a run_dir stand for two uvicorn workers; the update lands on one of them."""
    config = make_config(update_config.artifacts_dir, update_config.experiments_dir, update_config.chdb_path,
                         update_config.spool_dir, catalog_additions_dir=update_config.catalog_additions_dir,
                         run_dir=tmp_path / "run", reload_poll_s=0.05)  # fmt: skip
    png = new_pngs(1, seed=5)[0]
    with TestClient(memory_app(config)) as first, TestClient(memory_app(config)) as second:
        resp = first.post("/v1/admin/catalog", files=[("image", ("new/w.png", png, "image/png"))], headers=AUTH)
        assert resp.status_code == 200, resp.text
        deadline = time.monotonic() + 10
        while second.get("/readyz").json()["generation"] == 1:
            assert time.monotonic() < deadline, "the second worker never reloaded"
            time.sleep(0.05)
        for user in USERS:
            assert top_ids(second, png, user)[0] == "new/w.png"


def test_an_offline_update_is_served_after_an_admin_reload(update_config: ServingConfig, tmp_path: Path) -> None:
    """`vsx index update` writes the next version; the running server serves it once told to reload."""
    png = new_pngs(1, seed=7)[0]
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "o.png").write_bytes(png)
    store = ArtifactStore(update_config.artifacts_dir)
    with TestClient(memory_app(update_config)) as client:
        update_index_artifact(store, "pixels-flat@1", update_config.catalog_additions_dir, add=tmp_path / "new")
        update_index_artifact(store, "pixels-hnsw@1", update_config.catalog_additions_dir, add=tmp_path / "new")
        assert "o.png" not in top_ids(client, png, USERS[0])
        reloaded = client.post("/v1/admin/reload", headers=AUTH)
        assert reloaded.status_code == 200 and "index pixels-flat@2" in reloaded.json()["artifacts"]
        for user in USERS:
            assert top_ids(client, png, user)[0] == "o.png"
