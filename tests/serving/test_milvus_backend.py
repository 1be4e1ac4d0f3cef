"""A variant served by Milvus (`index_backend: milvus`, on milvus-lite) beside one served by Faiss, the same
encoder and index artifact: both answer, alike; a catalog update reaches the Milvus-served index too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_core.catalog import Catalog
from serving.app import create_app
from serving.config import ServingConfig
from serving.errors import InvalidServingConfigError
from tests.serving.conftest import ADMIN_TOKEN, PLATFORM_YAML, make_config, new_pngs, top_ids, write_experiments

pytestmark = pytest.mark.integration  # embedded chdb store, milvus-lite

BACKENDS_YAML = """\
name: backend-v1
owner: search-team
status: running
layer: ranking
start: 2020-01-01T00:00:00Z
control: faiss
variants:
  - {name: faiss, weight: 0.5}
  - {name: milvus, weight: 0.5, index_backend: milvus}
primary_metric: ctr
"""


@pytest.fixture
def milvus_config(artifacts_dir: Path, chdb_dir: Path, tmp_path: Path) -> ServingConfig:
    shutil.copytree(artifacts_dir, tmp_path / "artifacts")
    experiments = write_experiments(
        tmp_path / "experiments", {"platform.yaml": PLATFORM_YAML, "backend-v1.yaml": BACKENDS_YAML}
    )
    milvus_uri = str(tmp_path / "milvus" / "milvus.db")
    return make_config(tmp_path / "artifacts", experiments, chdb_dir, tmp_path / "spool",
                       catalog_additions_dir=tmp_path / "added", milvus_uri=milvus_uri)  # fmt: skip


def users_by_variant(client: TestClient) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"faiss": [], "milvus": []}
    for i in range(40):
        body = client.get("/v1/assignment", params={"user_id": f"u{i}"}).json()
        found[body["assignments"][0]["variant"]].append(f"u{i}")
        assert body["served"]["index_backend"] == body["assignments"][0]["variant"]
    assert found["faiss"] and found["milvus"]
    return found


def test_faiss_and_milvus_serve_the_same_index_alike(milvus_config: ServingConfig, catalog: Catalog) -> None:
    with TestClient(create_app(milvus_config)) as client:
        users = users_by_variant(client)
        assert (
            "index pixels-flat@1 on milvus"
            in client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()["artifacts"]
        )
        for query in catalog.query_ids[:5]:
            lists = {
                variant: client.post("/v1/search", json={"image_id": query}, headers={"X-User-Id": user[0]}).json()
                for variant, user in users.items()
            }
            faiss_ids = [r["image_id"] for r in lists["faiss"]["results"]]
            milvus_ids = [r["image_id"] for r in lists["milvus"]["results"]]
            assert milvus_ids == faiss_ids  # Flat in both: exact search, the same ranking
            assert lists["milvus"]["variant"] == "milvus"


def test_a_catalog_update_reaches_the_milvus_index_and_a_restart_keeps_it(milvus_config: ServingConfig) -> None:
    png = new_pngs(1, seed=9)[0]
    with TestClient(create_app(milvus_config)) as client:
        users = users_by_variant(client)
        resp = client.post(
            "/v1/admin/catalog",
            files=[("image", ("new/m.png", png, "image/png"))],
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert resp.status_code == 200, resp.text
        for user in users["milvus"][:3] + users["faiss"][:3]:
            assert top_ids(client, png, user)[0] == "new/m.png"
        removed = client.post(
            "/v1/admin/catalog", json={"remove": ["new/m.png"]}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert removed.status_code == 200, removed.text
        for user in users["milvus"][:3]:
            assert "new/m.png" not in top_ids(client, png, user)
    with TestClient(create_app(milvus_config)) as client:
        for user in users["milvus"][:3]:
            assert "new/m.png" not in top_ids(client, png, user)


def test_an_unknown_backend_is_refused_with_its_file_and_field(milvus_config: ServingConfig) -> None:
    (Path(milvus_config.experiments_dir) / "backend-v1.yaml").write_text(
        BACKENDS_YAML.replace("index_backend: milvus}", "index_backend: elastic}")
    )
    with pytest.raises(InvalidServingConfigError) as info:
        create_app(milvus_config)
    assert any("backend-v1.yaml" in e and "index_backend" in e and "'faiss'" in e for e in info.value.errors)
