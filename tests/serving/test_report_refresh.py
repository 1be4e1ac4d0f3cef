"""The server analyses what it serves: `vsx serve`'s configuration and analysis pipeline on the embedded store.

Simulated users search and click through the app; the admin endpoint (and the schedule) run the real analysis
(SQL over the chdb store the app writes to, the stats engine, the report) inside the server's process, which
owns the store. A browser then reads the reports the way an analyst does: from the web page's header link to
the index, the report, and the same report after more traffic.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboards.formatting import count
from search_core.catalog import Catalog
from serving.app import create_app
from tests.serving.conftest import ADMIN_TOKEN, PLATFORM_YAML, RANKING_YAML, ThreadedServer, write_experiments
from vsx.pipelines.click_model import TrafficPlan
from vsx.pipelines.report_refresh import report_refresher
from vsx.pipelines.serving import serving_config
from vsx.pipelines.simulate import simulate_app, simulate_server
from vsx.settings import Settings

pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXPERIMENT = "enc-v1"


@pytest.fixture
def settings(tmp_path: Path, artifacts_dir: Path) -> Settings:
    """What `vsx serve` would read: embedded store under data_dir, the simulator's clock trusted, no schedule."""
    experiments = write_experiments(
        tmp_path / "experiments", {"platform.yaml": PLATFORM_YAML, "enc-v1.yaml": RANKING_YAML}
    )
    return Settings(
        home=tmp_path, data_dir=tmp_path / "data", artifacts_dir=artifacts_dir, experiments_dir=experiments,
        reports_dir=tmp_path / "reports", embedded=True, trust_client_time=True, admin_token=ADMIN_TOKEN,
        report_refresh_minutes=0,
    )  # fmt: skip


def make_app(settings: Settings) -> FastAPI:
    return create_app(serving_config(settings), refresh_report=report_refresher(settings))


def traffic(server: str | FastAPI, catalog: Catalog, users: int, prefix: str) -> int:
    """Simulated users over two days that ended yesterday, against a server's URL or an app served in-process;
    returns how many there were."""
    plan = TrafficPlan(users=users, days=2, pre_days=0, seed=len(prefix))
    start = datetime.now(UTC) - timedelta(days=3)
    run = simulate_server if isinstance(server, str) else simulate_app
    summary = run(server, traffic_ids=catalog.gallery_ids, label_of=catalog.label, plan=plan, start=start,
                  user_prefix=prefix)  # fmt: skip
    return summary.users


def analyze(client: httpx.Client, app: FastAPI) -> dict:
    """Ask the server to analyse (after its sink delivered every event); the results it wrote."""
    assert app.state.service.sink.flush(timeout=30)
    done = client.post(f"/v1/admin/analyze/{EXPERIMENT}", headers=AUTH)
    assert done.status_code == 200, done.text
    return client.get(done.json()["results"]).json()


def users(results: dict) -> dict[str, int]:
    return results["srm"]["observed"]


def test_admin_analysis_reads_the_servers_own_store(server: tuple[ThreadedServer, FastAPI], catalog: Catalog) -> None:
    running, app = server
    with httpx.Client(base_url=running.url, timeout=60) as client:
        first = traffic(running.url, catalog, 30, "first")
        before = analyze(client, app)
        assert sum(users(before).values()) == first
        assert client.get(f"/reports/{EXPERIMENT}/report.html").status_code == 200
        index = client.get("/reports/")
        assert index.status_code == 200 and f"{EXPERIMENT}/report.html" in index.text
        second = traffic(running.url, catalog, 20, "second")
        after = analyze(client, app)
    assert sum(users(after).values()) == first + second
    assert after["generated_at"] > before["generated_at"]


def test_the_schedule_refreshes_without_being_asked(settings: Settings, catalog: Catalog) -> None:
    served = traffic(make_app(settings), catalog, 25, "scheduled")  # the app's shutdown flushes its sink
    scheduled = create_app(
        replace(serving_config(settings), report_refresh_s=3600.0), refresh_report=report_refresher(settings)
    )
    results = settings.reports_dir / EXPERIMENT / "results.json"
    with TestClient(scheduled):  # the first round runs as the server starts
        deadline = time.monotonic() + 120
        while not results.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    assert sum(json.loads(results.read_text())["srm"]["observed"].values()) == served


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[ThreadedServer, FastAPI]]:
    app = make_app(settings)
    with ThreadedServer(app) as running:
        yield running, app


@pytest.mark.browser
def test_an_analyst_follows_the_link_and_sees_todays_numbers(
    server: tuple[ThreadedServer, FastAPI], catalog: Catalog, chromium_driver, artifact_dir: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    running, app = server
    driver = chromium_driver
    with httpx.Client(base_url=running.url, timeout=60) as client:
        traffic(running.url, catalog, 30, "browser-first")
        before = users(analyze(client, app))

        driver.set_window_size(1280, 900)
        driver.get(running.url + "/")
        WebDriverWait(driver, 10).until(ec.element_to_be_clickable((By.ID, "reports-link"))).click()
        WebDriverWait(driver, 10).until(ec.url_to_be(running.url + "/reports/"))
        driver.save_screenshot(str(artifact_dir / "served-reports-index.png"))
        driver.find_element(By.LINK_TEXT, EXPERIMENT).click()
        WebDriverWait(driver, 10).until(ec.url_contains(f"/reports/{EXPERIMENT}/report.html"))
        first_page = driver.find_element(By.TAG_NAME, "body").text
        assert all(count(n) in first_page for n in before.values()), (before, first_page[:500])

        traffic(running.url, catalog, 40, "browser-second-wave")
        after = users(analyze(client, app))
    assert all(after[arm] > before[arm] for arm in before)
    driver.refresh()
    page = driver.find_element(By.TAG_NAME, "body").text
    assert page != first_page and all(count(n) in page for n in after.values()), (after, page[:500])
    driver.save_screenshot(str(artifact_dir / "served-report-refreshed.png"))
