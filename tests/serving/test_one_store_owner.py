"""One process owns the embedded store: with `vsx serve` holding it, every `vsx` command either works without it
or says so in one line naming the server and the two ways out — never a traceback.

Each command runs as a user would run it, a fresh `vsx` process, against the same settings as the server.
`vsx analyze NAME --url` is the way out that keeps the server running: the server analyses and says where the
report is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from search_core.catalog import Catalog
from tests.serving.conftest import (
    ADMIN_TOKEN,
    PLATFORM_YAML,
    RANKING_YAML,
    free_port,
    vsx_serve,
    write_experiments,
)
from vsx.pipelines.click_model import TrafficPlan
from vsx.pipelines.simulate import simulate_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VSX = Path(sys.executable).parent / "vsx"  # the installed script, as a user runs it


@dataclass
class Served:
    url: str
    port: int
    pid: int
    home: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path, catalog: Catalog) -> Iterator[Served]:
    """`vsx serve` on the embedded store of a fresh home, with some traffic in it."""
    home = tmp_path_factory.mktemp("owner-home")
    shutil.copytree(artifacts_dir, home / "artifacts")  # commands below add artifacts: not to the shared ones
    experiments = write_experiments(home / "experiments", {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": RANKING_YAML})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSX_", "PROMETHEUS_"))}
    env.update(
        VSX_HOME=str(home), VSX_CONFIG_FILE=str(home / "absent.toml"), VSX_ARTIFACTS_DIR=str(home / "artifacts"),
        VSX_EXPERIMENTS_DIR=str(experiments), VSX_EMBEDDED="true", VSX_ADMIN_TOKEN=ADMIN_TOKEN,
        VSX_TRUST_CLIENT_TIME="true", VSX_REPORT_REFRESH_MINUTES="0",
        VSX_CLICKHOUSE__URL=f"clickhouse://127.0.0.1:{free_port()}/vsx",
    )  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [str(VSX), "serve", "--port", str(port), "--no-access-log"]
    with vsx_serve(argv, env, home / "serve.log", port) as proc:
        plan = TrafficPlan(users=20, days=1, pre_days=0, seed=3)
        simulate_server(url, traffic_ids=catalog.gallery_ids, label_of=catalog.label, plan=plan,
                        start=datetime.now(UTC) - timedelta(days=2))  # fmt: skip
        yield Served(url, port, proc.pid, home, env)
    assert not (home / "var" / "data" / "serve" / "embedded.json").exists(), "the server record outlived the server"


def run(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([VSX, *args], env=served.env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr + done.stdout, (args, done.stderr)
    return done


def test_commands_that_need_the_store_name_the_server_and_the_ways_out(served: Served) -> None:
    refused = {
        "analyze": ["analyze", "enc-v1"],
        "export-pairs": ["export-pairs", "enc-v1", "--out", str(served.home / "pairs.jsonl")],
        "demo": ["demo", "--quick"],
        "serve": ["serve", "--port", str(free_port())],
        "simulate": ["simulate", "--users", "2", "--days", "1", "--pre-days", "0"],
        "retrain": ["retrain", "--from", "cnn@1", "--experiment", "enc-v1"],
    }
    chdb = served.home / "var" / "data" / "chdb"
    for name, args in refused.items():
        started = time.monotonic()
        done = run(served, *args)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1, (name, done.stderr)
        assert lines[0] == (
            f"error: the embedded event store {chdb} is in use by process {served.pid} "
            f"(vsx serve --port {served.port} --no-access-log): stop it, or let it analyse: "
            f"vsx analyze NAME --url {served.url}"
        ), name
        assert time.monotonic() - started < 30, f"{name} worked for a long time before finding the store taken"


def test_the_way_out_asks_the_server(served: Served) -> None:
    done = run(served, "analyze", "enc-v1", "--url", served.url)
    assert done.returncode == 0, done.stderr
    report = done.stdout.strip()
    assert report == f"{served.url}/reports/enc-v1/report.html"
    assert httpx.get(report).status_code == 200
    results = httpx.get(f"{served.url}/reports/enc-v1/results.json").json()
    assert sum(results["srm"]["observed"].values()) == 20
    wrong = subprocess.run(
        [VSX, "analyze", "enc-v1", "--url", served.url], env={**served.env, "VSX_ADMIN_TOKEN": "wrong"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wrong.returncode == 2 and "VSX_ADMIN_TOKEN" in wrong.stderr.splitlines()[-1]
    unknown = run(served, "analyze", "nope", "--url", served.url)
    assert unknown.returncode == 2 and "unknown experiment 'nope'" in unknown.stderr


def test_every_other_command_works_beside_the_server(served: Served, catalog_dir: Path) -> None:
    home = served.home
    pairs = home / "click-pairs.jsonl"
    pairs.write_text(json.dumps({"query_image_id": "a", "result_image_id": "b", "weight": 1.0}) + "\n")
    work = [
        ["--version"], ["--help"], ["config"], ["services", "status"], ["services", "status", "--json"],
        ["services", "down"], ["experiments", "list"], ["experiments", "show", "enc-v1"],
        ["experiments", "assign", "user-1"], ["experiments", "validate", str(home / "experiments")],
        ["artifacts", "list"], ["artifacts", "show", "pixels@1"], ["catalog", "info", "--catalog", str(catalog_dir)],
        ["train", "--encoder", "pixels", "--name", "px2", "--catalog", str(catalog_dir)],
        ["index", "build", "px2@1", "--factory", "Flat"],
        ["eval", "px2@1", "--index", "px2-flat@1", "--queries", "20", "--k", "10", "--out", str(home / "eval")],
        ["eval-trec", str(home / "eval" / "qrels.txt.gz"), str(home / "eval" / "run.txt")],
        ["power", "--baseline-ctr", "0.08", "--mde", "0.05"],
        ["history"],
    ]  # fmt: skip
    for args in work:
        done = run(served, *args)
        assert done.returncode == 0, (args, done.stderr)
    expected_errors = {
        "retrain": ["retrain", "--from", "pixels@1", "--pairs", str(pairs), "--eval-queries", "10"],
        "ingest": ["ingest", "--max-events", "1"],  # ClickHouse settings point at a closed port
        "show": ["experiments", "show", "nope"],
    }
    for name, args in expected_errors.items():
        done = run(served, *args)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and lines[-1].startswith("error: "), (name, done.stderr)


def test_a_simulator_drives_the_server_beside_it(served: Served, catalog_dir: Path) -> None:
    """`vsx simulate --url` needs no store of its own: it searches and clicks through the running server, with
    queries from the catalog the server serves; queries the server does not know end in one error line."""
    start = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%d")
    args = ["simulate", "--url", served.url, "--users", "5", "--days", "1", "--pre-days", "0", "--start", start,
            "--user-prefix", "cli-sim", "--seed", "9"]  # fmt: skip
    done = run(served, *args, "--catalog", str(catalog_dir))
    assert done.returncode == 0, done.stderr
    assert "failed requests 0" in done.stdout, done.stdout
    assert re.search(r"search [1-9]\d*, impression [1-9]\d*, click \d+", done.stdout), done.stdout
    other = run(served, *args)  # Fashion-MNIST's ids, which this server's catalog does not hold
    lines = [line for line in other.stderr.splitlines() if line.strip() and "search/s" not in line]
    assert other.returncode == 2 and lines[-1].startswith(
        "error: no search succeeded; the last /v1/search answered 404"
    ), other.stderr
