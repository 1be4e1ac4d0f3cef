"""`vsx serve`: refuses what it cannot serve with one line and exit 2; with several uvicorn workers, /metrics adds
up every worker's samples (prometheus multiprocess mode) and an admin reload reaches every worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from search_core.catalog import Catalog
from tests.serving.conftest import (
    ADMIN_TOKEN,
    PLATFORM_YAML,
    RANKING_YAML,
    RERANK_YAML,
    free_port,
    vsx_serve,
    write_experiments,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each starts the `vsx` command line (torch import)

VSX = [sys.executable, "-c", "from vsx.cli import main; main()"]


def settings_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSX_", "PROMETHEUS_"))}
    env.update({"VSX_CONFIG_FILE": str(tmp_path / "absent.toml"), "VSX_DATA_DIR": str(tmp_path / "data"), **values})
    return env


def test_embedded_mode_refuses_several_workers(tmp_path: Path) -> None:
    env = settings_env(tmp_path, VSX_EMBEDDED="true")
    done = subprocess.run([*VSX, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: embedded mode") and "Traceback" not in done.stderr


def test_invalid_config_is_one_line_and_exit_2(tmp_path: Path, artifacts_dir: Path) -> None:
    env = settings_env(tmp_path, VSX_ARTIFACTS_DIR=str(artifacts_dir), VSX_EXPERIMENTS_DIR=str(tmp_path / "none"))
    done = subprocess.run(
        [*VSX, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error:") and "experiments folder does not exist" in last and "Traceback" not in done.stderr


def test_an_unreadable_experiment_file_is_one_line_and_exit_2(tmp_path: Path, artifacts_dir: Path) -> None:
    """Regression: a date YAML cannot build (`2026-02-30`) made `vsx serve` die with a traceback at startup."""
    bad = RANKING_YAML.replace("start: 2020-01-01T00:00:00Z", "start: 2026-02-30")
    experiments = write_experiments(tmp_path / "experiments", {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": bad})
    env = settings_env(tmp_path, VSX_ARTIFACTS_DIR=str(artifacts_dir), VSX_EXPERIMENTS_DIR=str(experiments))
    done = subprocess.run(
        [*VSX, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "day is out of range for month" in done.stderr


@pytest.fixture
def two_workers(tmp_path: Path, artifacts_dir: Path) -> Iterator[tuple[str, Path]]:
    """`vsx serve --workers 2` in Kafka mode with the broker down (events spool; searches must not care)."""
    experiments = write_experiments(
        tmp_path / "experiments", {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": RANKING_YAML}
    )
    port = free_port()
    env = settings_env(
        tmp_path,
        VSX_EMBEDDED="false",
        VSX_ARTIFACTS_DIR=str(artifacts_dir),
        VSX_EXPERIMENTS_DIR=str(experiments),
        VSX_ADMIN_TOKEN=ADMIN_TOKEN,
        VSX_KAFKA__BOOTSTRAP_SERVERS=f'["127.0.0.1:{free_port()}"]',
        VSX_KAFKA__SEND_TIMEOUT_S="0.5",
    )
    cmd = [*VSX, "serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    with vsx_serve(cmd, env, tmp_path / "serve.log", port):
        yield f"http://127.0.0.1:{port}", experiments


def searches_total(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    return sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "vsx_searches_total"
    )


def test_workers_share_metrics_and_reloads(two_workers: tuple[str, Path], catalog: Catalog) -> None:
    url, experiments = two_workers
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(20):
            resp = client.post("/v1/search", json={"image_id": catalog.query_ids[i]}, headers={"X-User-Id": f"w{i}"})
            assert resp.status_code == 200, resp.text
        # whichever worker answers the scrape, it reports the sum over both workers
        assert [searches_total(client) for _ in range(6)] == [20.0] * 6

        (experiments / "rerank-v1.yaml").write_text(RERANK_YAML)
        assert client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
        time.sleep(2.5)  # the other worker polls the reload stamp every second
        counts = [len(client.get("/v1/experiments").json()) for _ in range(12)]
        assert counts == [2] * 12
