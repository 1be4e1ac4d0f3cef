"""Serving overhead: `POST /v1/search` over HTTP against a direct `VisualSearch.search` call, same queries, same run.

Builds artifacts in a temp dir with search_core's builders (the pixels encoder with PCA to 64 dimensions and an
exact Flat index over the 60,000 Fashion-MNIST gallery images: about a millisecond per search), starts a Tansu
broker and `vsx serve` (uvicorn, one worker, events to Kafka as in production; `--embedded`: into the in-process
chdb store, as `vsx demo` serves) in subprocesses on free loopback ports, then times the same query ids
(a) through HTTP with a keep-alive `http.client` connection (httpx alone costs ~1 ms of client-side Python per
request here) and (b) directly on a `VisualSearch` built from the same artifacts, in
alternating blocks. The difference is what assignment + event logging + HTTP cost. Both sides run Faiss and torch
single-threaded (OMP_NUM_THREADS=1): on a shared 2-core machine, thread contention would otherwise dominate.

Goal: overhead ≤ 2 ms at p50 and ≤ 10% of the direct search's p99.

    .venv/bin/python benchmarks/serving.py            # 2,000 timed queries of each kind
    .venv/bin/python benchmarks/serving.py --quick    # 300
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import httpx
import numpy as np
import orjson
import torch

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.encoders import load_encoder
from search_core.engine import VisualSearch
from search_core.index import load_index
from search_core.index_artifact import build_index_artifact
from search_core.rerank import build_rerank
from search_core.training import build_pixels_encoder
from vsx.services import bootstrap_servers, free_port, start_tansu

PLATFORM_YAML = """\
default: {encoder: pixels@1, index: pixels-flat@1, rerank: [{name: drop_query}], k: 20}
"""
EXPERIMENT_YAML = """\
name: bench
owner: bench
status: running
layer: ranking
start: 2020-01-01T00:00:00Z
control: control
variants:
  - {name: control, weight: 0.5}
  - {name: treatment, weight: 0.5, rerank: [{name: drop_query}]}
primary_metric: ctr
"""
K = 20


def start_server(work: Path, port: int, access_log: bool, kafka: list[str] | None) -> subprocess.Popen[bytes]:
    """`vsx serve` on `port`; events to the Kafka brokers `kafka`, or into the embedded store when None."""
    env = {
        **os.environ,
        "VSX_ARTIFACTS_DIR": str(work / "artifacts"),
        "VSX_EXPERIMENTS_DIR": str(work / "experiments"),
        "VSX_DATA_DIR": str(work / "data"),
        "VSX_EMBEDDED": "true" if kafka is None else "false",
        "VSX_CONFIG_FILE": str(work / "none.toml"),
        "OMP_NUM_THREADS": "1",
    }
    if kafka is not None:
        env["VSX_KAFKA__BOOTSTRAP_SERVERS"] = orjson.dumps(kafka).decode()
    cmd = [sys.executable, "-c", "from vsx.cli import main; main()", "serve", "--port", str(port)]
    cmd += [] if access_log else ["--no-access-log"]
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {(work / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not become ready in 120 s")


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def time_direct(engine: VisualSearch, catalog: Catalog, query_ids: list[str]) -> list[float]:
    times = []
    for qid in query_ids:
        started = time.perf_counter()
        engine.search(catalog.image(qid), K, query_image_id=qid)
        times.append((time.perf_counter() - started) * 1000)
    return times


class LightClient:
    """A keep-alive HTTP/1.1 connection from the standard library: ~0.1 ms of client-side Python a request here,
    where httpx spends ~1 ms. The client's cost lands in every round trip but is not the server's overhead."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


def time_http(client: LightClient, query_ids: list[str]) -> tuple[list[float], list[float]]:
    """Client-side round trips, and the server's own `latency_ms` (decode, assign, search, log) of each."""
    times, server = [], []
    for i, qid in enumerate(query_ids):
        body = orjson.dumps({"image_id": qid, "k": K})
        headers = {"X-User-Id": f"bench-{i % 500}", "Content-Type": "application/json"}
        started = time.perf_counter()
        status, data = client.request("POST", "/v1/search", body, headers)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"search failed: {status} {data[:500]!r}")
        server.append(orjson.loads(data)["latency_ms"])
    return times, server


def time_floor(client: LightClient, n: int) -> list[float]:
    """Round trips of `GET /healthz`: what HTTP, uvicorn and FastAPI cost with no work at all."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        client.request("GET", "/healthz")
        times.append((time.perf_counter() - started) * 1000)
    return times


def concurrent_rps(port: int, query_ids: list[str], threads: int) -> float:
    def worker(ids: list[str]) -> None:
        client = LightClient(port)
        try:
            time_http(client, ids)
        finally:
            client.close()

    chunks = [query_ids[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, chunks))
    return len(query_ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer queries")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's per-request access log on")
    parser.add_argument("--embedded", action="store_true", help="events into the in-process chdb store, not Kafka")
    args = parser.parse_args()
    n_queries, warmup = (300, 50) if args.quick else (2000, 200)
    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix="vsx-bench-serving-") as tmp:
        work = Path(tmp)
        catalog = load_catalog("fashion-mnist")
        store = ArtifactStore(work / "artifacts")
        build_pixels_encoder(store, name="pixels", catalog=catalog, pca_dim=64)
        build_index_artifact(store, name="pixels-flat", encoder_ref="pixels@1", catalog=catalog, factory="Flat")
        (work / "experiments").mkdir()
        (work / "experiments" / "platform.yaml").write_text(PLATFORM_YAML)
        (work / "experiments" / "bench.yaml").write_text(EXPERIMENT_YAML)

        rng = np.random.default_rng(0)
        query_ids = [str(q) for q in rng.choice(catalog.query_ids, size=n_queries + warmup)]
        rerank = build_rerank([{"name": "drop_query"}])
        # default k_candidates (100), as the server's engines (this file's name hides the `serving` package)
        engine = VisualSearch(load_encoder(store, "pixels@1"), load_index(store, "pixels-flat@1"), rerank)
        port = free_port()
        broker = None if args.embedded else start_tansu(work / "tansu")
        server = start_server(work, port, args.access_log, None if broker is None else bootstrap_servers(broker))
        try:
            client = LightClient(port)
            try:
                time_http(client, query_ids[:warmup])
                time_direct(engine, catalog, query_ids[:warmup])
                # interleave the measurements in blocks so drift (other load on the machine) hits all alike
                direct, over_http, server_side, floor = [], [], [], []
                for start in range(warmup, len(query_ids), 100):
                    block = query_ids[start : start + 100]
                    direct += time_direct(engine, catalog, block)
                    client_ms, server_ms = time_http(client, block)
                    over_http += client_ms
                    server_side += server_ms
                    floor += time_floor(client, len(block))
            finally:
                client.close()
            rps_4 = concurrent_rps(port, query_ids[warmup:], threads=4)
        finally:
            server.terminate()
            server.wait(timeout=30)
            if broker is not None:
                broker.stop()

    d50, d99 = percentiles(direct)
    h50, h99 = percentiles(over_http)
    s50, s99 = percentiles(server_side)
    f50, f99 = percentiles(floor)
    sink = "embedded chdb store" if args.embedded else "Kafka (Tansu)"
    print(f"gallery {len(catalog.gallery_ids)} images (pixels PCA-64, Flat), k={K}, {len(direct)} timed queries, "
          f"events to {sink}")  # fmt: skip
    print(f"{'':34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}")
    rows = [
        ("direct VisualSearch.search", direct),
        ("server-side latency_ms", server_side),
        ("HTTP POST /v1/search, 1 client", over_http),
        ("HTTP GET /healthz (HTTP floor)", floor),
    ]
    for name, ms in rows:
        p50, p99 = percentiles(ms)
        print(f"{name:34}{p50:9.3f}{p99:9.3f}{1000 / np.mean(ms):8.0f}")
    print(f"{'HTTP POST /v1/search, 4 clients':34}{'':9}{'':9}{rps_4:8.0f}")
    print(f"overhead p50: {h50 - d50:.3f} ms (goal <= 2 ms) = assignment + logging {s50 - d50:.3f} ms "
          f"+ HTTP and framework {h50 - s50:.3f} ms (of which {f50:.3f} ms for any request)")  # fmt: skip
    print(f"overhead p99: {h99 - d99:.3f} ms = {100 * (h99 - d99) / d99:.0f}% of the direct p99 (goal <= 10%)")


if __name__ == "__main__":
    main()
