"""Reports in the server, as HTTP: the folder read-only under /reports/, the admin analyze endpoint, the schedule,
the web page's link, offline /docs and the favicon.

The refresher here writes files the way the analysis pipeline does; tests/serving/test_report_refresh.py runs the
real one (vsx's analysis of events in the store).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from experiments.errors import UnknownExperimentError
from serving.config import ServingConfig
from serving.errors import ReportFailedError
from tests.serving.conftest import ADMIN_TOKEN, make_config, memory_app

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class FakeAnalysis:
    """Writes `<reports>/<name>/report.html` like the pipeline; knows the experiments it is given."""

    def __init__(self, folder: Path, known: set[str], failing: set[str] = frozenset()) -> None:
        self.folder, self.known, self.failing = folder, known, failing
        self.calls: list[str] = []
        self.called = threading.Event()

    def __call__(self, name: str) -> None:
        self.calls.append(name)
        self.called.set()
        if name not in self.known:
            raise UnknownExperimentError(f"unknown experiment {name!r}")
        if name in self.failing:
            raise ReportFailedError(f"cannot analyse {name!r} now: no users yet")
        (self.folder / name).mkdir(parents=True, exist_ok=True)
        (self.folder / name / "report.html").write_text(f"<h1>{name}</h1> run {len(self.calls)}")
        (self.folder / name / "results.json").write_text("{}")


@pytest.fixture
def reports_config(config: ServingConfig, tmp_path: Path) -> ServingConfig:
    return make_config(
        config.artifacts_dir, config.experiments_dir, config.chdb_path, tmp_path / "spool", reports_dir=tmp_path / "r"
    )


def client_for(config: ServingConfig, refresher: Callable[[str], None] | None = None) -> TestClient:
    return TestClient(memory_app(config, refresh_report=refresher), raise_server_exceptions=False)


def test_the_folder_is_served_read_only_and_never_cached_stale(reports_config: ServingConfig) -> None:
    folder = reports_config.reports_dir
    (folder / "enc-v1").mkdir(parents=True)
    (folder / "index.html").write_text("<a href='enc-v1/report.html'>enc-v1</a>")
    (folder / "enc-v1" / "report.html").write_text("<h1>enc-v1</h1>")
    (folder / "history.html").write_text("<h1>history</h1>")
    (folder.parent / "secret.txt").write_text("not a report")
    with client_for(reports_config) as client:
        index = client.get("/reports/")
        assert index.status_code == 200 and "enc-v1/report.html" in index.text
        assert index.headers["cache-control"] == "no-cache"
        assert client.get("/reports", follow_redirects=True).text == index.text
        assert client.get("/reports/enc-v1/report.html").text == "<h1>enc-v1</h1>"
        assert client.get("/reports/history.html").status_code == 200
        assert client.post("/reports/index.html").status_code == 405
        assert client.put("/reports/new.html", content=b"x").status_code == 405
        assert client.get("/reports/%2e%2e/secret.txt").status_code == 404
        missing = client.get("/reports/nope/report.html")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_no_reports_yet_says_where_they_come_from(reports_config: ServingConfig) -> None:
    with client_for(reports_config) as client:
        page = client.get("/reports/")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert str(reports_config.reports_dir) in page.text and "vsx analyze NAME" in page.text


def test_admin_analyze_refreshes_one_report(reports_config: ServingConfig) -> None:
    analysis = FakeAnalysis(reports_config.reports_dir, known={"enc-v1", "rerank-v1"}, failing={"rerank-v1"})
    with client_for(reports_config, analysis) as client:
        assert client.post("/v1/admin/analyze/enc-v1").status_code == 401
        assert client.post("/v1/admin/analyze/enc-v1", headers={"Authorization": "Bearer wrong"}).status_code == 401
        done = client.post("/v1/admin/analyze/enc-v1", headers=AUTH)
        assert done.status_code == 200, done.text
        assert done.json() == {
            "experiment": "enc-v1",
            "report": "/reports/enc-v1/report.html",
            "results": "/reports/enc-v1/results.json",
        }
        assert client.get(done.json()["report"]).text == "<h1>enc-v1</h1> run 1"
        unknown = client.post("/v1/admin/analyze/nope", headers=AUTH)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_experiment"
        failed = client.post("/v1/admin/analyze/rerank-v1", headers=AUTH)
        assert failed.status_code == 409 and "no users yet" in failed.json()["error"]["message"]
        assert client.get("/reports/enc-v1/report.html").text == "<h1>enc-v1</h1> run 1"  # untouched by failures


def test_without_an_analysis_the_endpoint_is_unavailable(reports_config: ServingConfig) -> None:
    with client_for(reports_config) as client:
        resp = client.post("/v1/admin/analyze/enc-v1", headers=AUTH)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "reports_unavailable"


def test_the_schedule_refreshes_running_experiments_only(reports_config: ServingConfig) -> None:
    """Running: enc-v1 and rerank-v1 (draft-v1 is a draft); a failing one is skipped, the round goes on."""
    scheduled = ServingConfig(**{**vars(reports_config), "report_refresh_s": 0.3})
    analysis = FakeAnalysis(scheduled.reports_dir, known={"enc-v1", "rerank-v1"}, failing={"enc-v1"})
    with client_for(scheduled, analysis):
        deadline = time.monotonic() + 20
        while analysis.calls.count("rerank-v1") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert set(analysis.calls) == {"enc-v1", "rerank-v1"}
    assert analysis.calls.count("rerank-v1") >= 2  # again after refresh_s
    assert (scheduled.reports_dir / "rerank-v1" / "report.html").is_file()


def test_the_web_page_links_the_reports(reports_config: ServingConfig, app: FastAPI, client: TestClient) -> None:
    with client_for(reports_config) as with_reports:
        assert 'href="/reports/"' in with_reports.get("/").text
    assert 'href="/reports/"' not in client.get("/").text  # the conftest's app has no reports folder


def test_docs_work_offline_and_the_favicon_is_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    scripts = [line for line in docs.text.splitlines() if "<script src=" in line or "stylesheet" in line]
    assert scripts and all("https://" not in line and "http://" not in line for line in scripts)
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert "https://" not in client.get("/redoc").text.split("<body>")[1].split("</script>")[0]
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
