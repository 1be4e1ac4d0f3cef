"""Simulated traffic through the in-process app: Starlette's TestClient against httpx's ASGI transport, same run.

`vsx demo` and `vsx simulate` serve the app in their own process and drive it with simulated users. This script
builds what the demo serves for an interleaving experiment (raw pixels against their PCA-16 reduction, HNSW32
indexes over the 60,000 Fashion-MNIST gallery images, the demo's re-ranking, events into the embedded chdb store)
in a temp dir, then:

1. sends one fixed request sequence — a search, then a click on its first result — through each client, in
   alternating blocks, each block on a fresh app (startup not timed): the TestClient, which runs the app on a
   thread of its own and crosses to it several times a request, and an `httpx.AsyncClient` on the ASGI
   transport, which runs the app on the caller's event loop (what `simulate_app` uses);
2. runs the simulator itself (`simulate_app`, the click model, a seeded traffic plan) and reports its rate.

    .venv/bin/python -P benchmarks/simulation.py            # 3 blocks of 2,000 requests pairs per client
    .venv/bin/python -P benchmarks/simulation.py --quick    # 2 blocks of 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from serving.app import create_app
from vsx.pipelines.artifacts import ensure_index, ensure_pixels
from vsx.pipelines.click_model import TrafficPlan
from vsx.pipelines.experiment_files import Arm, write_experiment, write_platform
from vsx.pipelines.online import run_traffic
from vsx.pipelines.serving import Backend, simulation_config
from vsx.pipelines.simulate import app_client
from vsx.settings import Settings

START = datetime(2026, 1, 5, tzinfo=UTC)
HEADERS = {"X-Vsx-Time": "2026-01-06T12:00:00+00:00"}


def requests(ids: list[str], n: int) -> list[tuple[str, str]]:
    """(user, query image) of each search: 700 users, queries cycling through the training images."""
    return [(f"bench-user-{i % 700:04d}", ids[(i * 7919) % len(ids)]) for i in range(n)]


def click_of(user: str, search: dict) -> tuple[dict, dict]:
    first = search["results"][0]
    body = {"events": [{"event_type": "click", "request_id": search["request_id"], "result_image_id": first["image_id"],
                        "position": first["position"]}]}  # fmt: skip
    return body, {"X-User-Id": user, **HEADERS}


def via_test_client(app: FastAPI, sequence: list[tuple[str, str]]) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's notice about its httpx transport, at import
        from fastapi.testclient import TestClient
    with TestClient(app) as client:
        started = time.perf_counter()
        for user, image in sequence:
            search = client.post("/v1/search", json={"image_id": image}, headers={"X-User-Id": user, **HEADERS})
            body, headers = click_of(user, search.json())
            assert client.post("/v1/events", json=body, headers=headers).status_code == 202
        return time.perf_counter() - started


def via_asgi_transport(app: FastAPI, sequence: list[tuple[str, str]]) -> float:
    async def run() -> float:
        async with app_client(app) as client:
            started = time.perf_counter()
            for user, image in sequence:
                search = await client.post(
                    "/v1/search", json={"image_id": image}, headers={"X-User-Id": user, **HEADERS}
                )
                body, headers = click_of(user, search.json())
                assert (await client.post("/v1/events", json=body, headers=headers)).status_code == 202
            return time.perf_counter() - started

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 blocks of 300 request pairs per client")
    parser.add_argument("--users", type=int, default=1000, help="simulated users of the simulator run")
    args = parser.parse_args()
    blocks, per_block = (2, 300) if args.quick else (3, 2000)
    catalog = load_catalog("fashion-mnist")
    with tempfile.TemporaryDirectory(prefix="vsx-bench-sim-") as tmp:
        home = Path(tmp)
        settings = Settings(home=home, embedded=True, trust_client_time=True, report_refresh_minutes=0)
        store = ArtifactStore(settings.artifacts_dir)
        arms = [
            Arm(name, encoder, ensure_index(store, catalog, encoder, factory="HNSW32", queries=200))
            for name, encoder in (
                ("control", ensure_pixels(store, catalog)),
                ("treatment", ensure_pixels(store, catalog, name="pixels-pca16", pca_dim=16)),
            )
        ]
        folder = settings.experiments_dir
        write_platform(folder, arms[0], 10)
        write_experiment(folder, name="bench-il", description="pixels vs PCA-16, interleaved", arms=arms,
                         start=START, end=datetime(2026, 2, 5, tzinfo=UTC), experiment_type="interleaving", k=10,
                         planned_users=args.users)  # fmt: skip
        config = simulation_config(settings, Backend.from_settings(settings), catalog, folder)
        sequence = requests(list(catalog.train_ids), per_block)
        clients: dict[str, Callable[[FastAPI, list[tuple[str, str]]], float]] = {
            "TestClient (baseline)": via_test_client,
            "ASGI transport": via_asgi_transport,
        }
        rates: dict[str, list[float]] = {name: [] for name in clients}
        for block in range(blocks):
            for name, drive in clients.items():
                rates[name].append(per_block / drive(create_app(config), sequence))
                print(f"block {block + 1}/{blocks} {name}: {rates[name][-1]:.0f} searches/s", flush=True)
        print(f"\n{'client':<24}{'searches/s (median of blocks)':>32}   each a search + one click post")
        for name, values in rates.items():
            print(f"{name:<24}{statistics.median(values):>32.0f}")
        plan = TrafficPlan(users=args.users, days=5, pre_days=0, seed=1)
        started = time.perf_counter()
        summary = run_traffic(config, catalog, plan=plan, start=START)
        elapsed = time.perf_counter() - started
        print(f"\nsimulator (run_traffic, app startup included): {summary.searches} searches, {summary.clicks} "
              f"clicks in {elapsed:.1f} s = {summary.searches / elapsed:.0f} searches/s")  # fmt: skip


if __name__ == "__main__":
    main()
