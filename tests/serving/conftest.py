"""Real small artifacts for the serving tests: a folder catalog of Fashion-MNIST images, the pixels encoder,
a Flat and an HNSW index built by search_core's builders, two running experiments in two layers and a draft.

The catalog is a folder (`<class>/<file>.png`) so image ids contain `/`, as folder catalogs' ids do.
Events go to an in-memory sink (`memory_app`), so these apps need no service: the tests that are about the
embedded chdb store (one chdb session per process: event_logging shares it by path) build theirs with
`create_app(config)` and read it with `stored_events_in`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from event_logging.columns import EVENT_COLUMNS, to_columns
from event_logging.memory_sink import MemoryEventSink
from event_logging.store import EventStore
from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.images import encode_png
from search_core.index_artifact import build_index_artifact
from search_core.training import build_pixels_encoder
from serving.app import create_app
from serving.config import ServingConfig, ServingLimits
from tests.search_core.small_catalog import write_fashion_folder

PER_CLASS = 40
ADMIN_TOKEN = "test-admin-token"

PLATFORM_YAML = """\
default:
  encoder: pixels@1
  index: pixels-flat@1
  rerank: [{name: drop_query}]
  k: 10
"""

RANKING_YAML = """\
name: enc-v1
description: flat vs hnsw index on the pixels encoder
owner: search-team
status: running
layer: ranking
salt: enc-v1
start: 2020-01-01T00:00:00Z
control: control
variants:
  - {name: control, weight: 0.5}
  - {name: treatment, weight: 0.5, encoder: pixels@1, index: pixels-hnsw@1, index_params: {efSearch: 32}}
primary_metric: ctr
"""

RERANK_YAML = """\
name: rerank-v1
owner: search-team
status: running
layer: rerank
start: 2020-01-01T00:00:00Z
control: control
targeting: {platform: [web]}
variants:
  - {name: control, weight: 0.5, rerank: [{name: drop_query}]}
  - {name: treatment, weight: 0.5, rerank: [{name: drop_query}, {name: dedupe, threshold: 0.99}]}
primary_metric: ctr
"""

DRAFT_YAML = """\
name: draft-v1
owner: search-team
status: draft
layer: ranking
start: 2030-01-01T00:00:00Z
control: control
variants:
  - {name: control, weight: 0.5}
  - {name: treatment, weight: 0.5, rerank: [{name: mmr, lambda: 0.7}]}
primary_metric: ctr
"""


def write_experiments(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


STANDARD_EXPERIMENTS = {
    "platform.yaml": PLATFORM_YAML,
    "enc-v1.yaml": RANKING_YAML,
    "rerank-v1.yaml": RERANK_YAML,
    "draft-v1.yaml": DRAFT_YAML,
}


@pytest.fixture(scope="session")
def catalog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`<class name>/<n>.png`: the first PER_CLASS Fashion-MNIST training images of each class."""
    return write_fashion_folder(tmp_path_factory.mktemp("catalog"), PER_CLASS)


@pytest.fixture(scope="session")
def catalog(catalog_dir: Path) -> Catalog:
    return load_catalog(str(catalog_dir))


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> Path:
    root = tmp_path_factory.mktemp("artifacts")
    store = ArtifactStore(root)
    build_pixels_encoder(store, name="pixels", catalog=catalog, pca_dim=None)
    build_index_artifact(store, name="pixels-flat", encoder_ref="pixels@1", catalog=catalog, factory="Flat")
    build_index_artifact(store, name="pixels-hnsw", encoder_ref="pixels@1", catalog=catalog, factory="HNSW32")
    return root


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serving-chdb")


def make_config(
    artifacts_dir: Path, experiments_dir: Path, chdb_dir: Path, spool_dir: Path, **changes: Any
) -> ServingConfig:
    fields: dict[str, Any] = {
        "artifacts_dir": artifacts_dir,
        "experiments_dir": experiments_dir,
        "embedded": True,
        "chdb_path": chdb_dir,
        "spool_dir": spool_dir,
        "admin_token": ADMIN_TOKEN,
        "limits": ServingLimits(max_upload_bytes=256 * 1024, max_pixels=1_000_000, max_batch=20),
    }
    return ServingConfig(**{**fields, **changes})


@pytest.fixture(scope="module")
def experiments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_experiments(tmp_path_factory.mktemp("experiments"), STANDARD_EXPERIMENTS)


@pytest.fixture(scope="module")
def config(
    artifacts_dir: Path, experiments_dir: Path, chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> ServingConfig:
    return make_config(artifacts_dir, experiments_dir, chdb_dir, tmp_path_factory.mktemp("spool"))


def memory_app(config: ServingConfig, **options: Any) -> FastAPI:
    """`create_app` with events kept in memory (`stored_events` reads them): no event store, no service."""
    return create_app(config, sink=MemoryEventSink(), **options)


@pytest.fixture(scope="module")
def app(config: ServingConfig) -> FastAPI:
    return memory_app(config)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


STORED_COLUMNS = ("event_type", "event_id", "user_id", "experiment", "variant", "layer", "salt", "hash_version",
                  "query_image_id", "result_image_id", "position", "score", "latency_ms", "result_count",
                  "status_code", "dwell_ms", "team", "attribution", "attr_names", "attr_values", "ts")  # fmt: skip
"""The `events` columns the tests read (`ts` as the store returns a `DateTime`: naive, UTC)."""


def logged_events(app: FastAPI) -> list[dict[str, Any]]:
    """Every event an app with a `MemoryEventSink` logged (after flushing it), as rows of the `events` table."""
    sink = app.state.service.sink
    assert sink.flush(timeout=10)
    rows = [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in zip(*to_columns(sink.events()), strict=True)]
    for row in rows:
        row["ts"] = datetime.fromtimestamp(row["ts"], UTC).replace(tzinfo=None)
    return rows


def stored_events(app: FastAPI, request_id: str) -> list[dict[str, Any]]:
    """The events of one request an app with a `MemoryEventSink` logged: `stored_events_in`'s rows, from memory."""
    rows = sorted(
        (row for row in logged_events(app) if row["request_id"] == request_id),
        key=lambda row: (row["event_type"], row["position"]),
    )
    return [{c: row[c] for c in STORED_COLUMNS} for row in rows]


def stored_events_in(app: FastAPI, store: EventStore, request_id: str) -> list[dict[str, Any]]:
    """The events of one request that reached the store (after flushing the app's sink)."""
    assert app.state.service.sink.flush(timeout=10)
    sql = f"SELECT {', '.join(STORED_COLUMNS)} FROM {store.database}.events WHERE request_id = %(rid)s"
    rows = store.query(sql + " ORDER BY event_type, position", {"rid": request_id})
    return [dict(zip(STORED_COLUMNS, row, strict=True)) for row in rows]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedServer:
    """A real uvicorn server on a free loopback port, in a thread of the test process (it shares the chdb store)."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


@contextmanager
def vsx_serve(argv: list[str], env: dict[str, str], log_path: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A `vsx serve` process (`argv` runs it), ready for requests on `port`; stopped with SIGINT afterwards."""
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "vsx serve did not become ready"
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield proc
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus exposition text as {(sample name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def new_pngs(n: int, seed: int = 0) -> list[bytes]:
    """Images the catalog lacks: Fashion-MNIST test images flipped upside down."""
    fmnist = load_catalog("fashion-mnist")
    return [encode_png(np.ascontiguousarray(fmnist.image(f"fmnist-test-{seed + i:06d}")[::-1])) for i in range(n)]


def top_ids(client: httpx.Client | TestClient, png: bytes, user: str) -> list[str]:
    resp = client.post("/v1/search", files={"image": ("q.png", png, "image/png")}, headers={"X-User-Id": user})
    assert resp.status_code == 200, resp.text
    return [r["image_id"] for r in resp.json()["results"]]
