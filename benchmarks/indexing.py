"""Live indexing: images/s added through `POST /v1/admin/catalog` while `vsx serve` answers searches, and the
search p50/p99 during the additions beside the p50/p99 of the same searches without them, in one run.

Setup: the Fashion-MNIST gallery (60,000 images) embedded by the pixels encoder with PCA-64, served by an
`HNSW32` index (the default variant) and a `Flat` index (an experiment's treatment), so every update embeds
the new images once and writes two index versions. `vsx serve` (one worker, embedded event store) runs in a
subprocess. A search client thread sends `{"image_id": ...}` searches back to back (ids cycling over the
test split, users cycling so both variants are hit) for `--seconds`; then the same for the additions phase,
while a second thread posts batches of `--batch` new images (test-split images flipped upside down, so none
is already in the catalog) until `--images` are added. Searches are timed at the client.

    .venv/bin/python -P benchmarks/indexing.py                      # 1,024 images in batches of 32
    .venv/bin/python -P benchmarks/indexing.py --batch 64 --images 1024     # 64: the server's default limit
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from search_core.images import encode_png
from search_core.index_artifact import build_index_artifact
from search_core.training import build_pixels_encoder
from vsx.services import free_port

TOKEN = "bench-token"
PLATFORM_YAML = "default: {encoder: pixels@1, index: pixels-hnsw@1, rerank: [{name: drop_query}], k: 10}\n"
EXPERIMENT_YAML = """\
name: bench
owner: bench
status: running
layer: ranking
start: 2020-01-01T00:00:00Z
control: control
variants:
  - {name: control, weight: 0.5}
  - {name: treatment, weight: 0.5, encoder: pixels@1, index: pixels-flat@1}
primary_metric: ctr
"""


def prepare(work: Path) -> None:
    catalog = load_catalog("fashion-mnist")
    store = ArtifactStore(work / "artifacts")
    build_pixels_encoder(store, name="pixels", catalog=catalog, pca_dim=64)
    build_index_artifact(store, name="pixels-hnsw", encoder_ref="pixels@1", catalog=catalog, factory="HNSW32")
    build_index_artifact(store, name="pixels-flat", encoder_ref="pixels@1", catalog=catalog, factory="Flat")
    (work / "experiments").mkdir()
    (work / "experiments" / "platform.yaml").write_text(PLATFORM_YAML)
    (work / "experiments" / "bench.yaml").write_text(EXPERIMENT_YAML)


def start_server(work: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VSX_ARTIFACTS_DIR": str(work / "artifacts"),
        "VSX_EXPERIMENTS_DIR": str(work / "experiments"),
        "VSX_DATA_DIR": str(work / "data"),
        "VSX_ADMIN_TOKEN": TOKEN,
        "VSX_CONFIG_FILE": str(work / "none.toml"),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [sys.executable, "-c", "from vsx.cli import main; main()", "serve", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, stdout=(work / "server.log").open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {(work / 'server.log').read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("server did not become ready in 180 s")


def search_loop(port: int, query_ids: list[str], stop: threading.Event, out: list[float]) -> None:
    """Searches back to back on one keep-alive connection until `stop`; client-side milliseconds into `out`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    while not stop.is_set():
        body = json.dumps({"image_id": query_ids[i % len(query_ids)]})
        started = time.perf_counter()
        connection.request("POST", "/v1/search", body, {"Content-Type": "application/json", "X-User-Id": f"u{i % 64}"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"search failed: {response.status}")
        out.append((time.perf_counter() - started) * 1000)
        i += 1


def multipart(images: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + png
        + b"\r\n"
        for name, png in images
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def add_loop(port: int, pngs: list[bytes], batch: int, out: dict[str, float]) -> None:
    """Post every image in batches; records the elapsed seconds and per-request milliseconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    request_ms = []
    for start in range(0, len(pngs), batch):
        names = range(start, min(start + batch, len(pngs)))
        body, content_type = multipart([(f"live/{i}.png", pngs[i]) for i in names])
        t0 = time.perf_counter()
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {TOKEN}"}
        connection.request("POST", "/v1/admin/catalog", body, headers)
        response = connection.getresponse()
        text = response.read()
        if response.status != 200:
            raise RuntimeError(f"catalog update failed: {response.status} {text[:300]!r}")
        request_ms.append((time.perf_counter() - t0) * 1000)
    out["seconds"] = time.perf_counter() - started
    out["request_p50"] = float(np.median(request_ms))


class Worker(threading.Thread):
    """A thread whose exception is re-raised by `join` (a failed request must fail the benchmark, not hide)."""

    def __init__(self, target: Callable[..., None], *args: object) -> None:
        super().__init__()
        self._work, self._args, self.error = target, args, None

    def run(self) -> None:
        try:
            self._work(*self._args)
        except BaseException as exc:
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise SystemExit(f"{self._work.__name__}: {self.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the search-only phase")
    args = parser.parse_args()
    catalog = load_catalog("fashion-mnist")
    query_ids = catalog.query_ids[:2000]
    pngs = [encode_png(np.ascontiguousarray(catalog.image(f"fmnist-test-{i:06d}")[::-1])) for i in range(args.images)]
    with tempfile.TemporaryDirectory(prefix="vsx-indexing-") as folder:
        work = Path(folder)
        prepare(work)
        port = free_port()
        server = start_server(work, port)
        try:
            quiet: list[float] = []
            stop = threading.Event()
            searcher = Worker(search_loop, port, query_ids, stop, quiet)
            searcher.start()
            time.sleep(args.seconds)
            stop.set()
            searcher.join()

            busy: list[float] = []
            stop = threading.Event()
            added: dict[str, float] = {}
            searcher = Worker(search_loop, port, query_ids, stop, busy)
            adder = Worker(add_loop, port, pngs, args.batch, added)
            searcher.start()
            adder.start()
            try:
                adder.join()
            finally:
                stop.set()
                searcher.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    rate = args.images / added["seconds"]
    print(f"{args.images} images in batches of {args.batch}: {rate:.1f} images/s added live "
          f"({added['seconds']:.1f} s; {added['request_p50']:.0f} ms per update request, p50)")  # fmt: skip
    for name, times in (("searches alone", quiet), ("during additions", busy)):
        p50, p99 = np.percentile(times, [50, 99])
        print(f"{name:<17} {len(times):>6} searches  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")


if __name__ == "__main__":
    main()
