"""Session fixtures: real services on free loopback ports, started on first use and stopped at the end.

Tests without an `integration`, `browser` or `cluster` mark are `unit` tests (fast, no services): the mark is
added at collection so `pytest -m unit` selects them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vsx.services import ServiceProcess, bootstrap_servers, clickhouse_url, start_clickhouse, start_tansu

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(m) for m in ("integration", "browser", "cluster")):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    """Scratch dir for all service data of this test session; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="vsx-test-services-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tansu(services_dir: Path) -> Iterator[ServiceProcess]:
    """A Tansu broker (memory storage) for the whole session. Topics must be created explicitly."""
    proc = start_tansu(services_dir / "tansu")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def tansu_bootstrap(tansu: ServiceProcess) -> list[str]:
    return bootstrap_servers(tansu)


@pytest.fixture(scope="session")
def clickhouse_server(services_dir: Path) -> Iterator[ServiceProcess]:
    """A ClickHouse 18.16 server for the whole session."""
    proc = start_clickhouse(services_dir / "clickhouse")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def clickhouse_url_base(clickhouse_server: ServiceProcess) -> str:
    """`clickhouse://127.0.0.1:PORT` without a database: tests add their own to stay independent."""
    return clickhouse_url(clickhouse_server, database="").rstrip("/")


@pytest.fixture
def clickhouse_db_url(clickhouse_url_base: str, request: pytest.FixtureRequest) -> str:
    """A fresh database per test (`clickhouse://127.0.0.1:PORT/t_<test name>`), created and dropped here."""
    from clickhouse_driver import Client

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:60]
    host_port = clickhouse_url_base.removeprefix("clickhouse://")
    host, port = host_port.split(":")
    client = Client(host=host, port=int(port))
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.execute(f"CREATE DATABASE {name}")
    yield f"{clickhouse_url_base}/{name}"
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.disconnect()


@pytest.fixture
def chdb_path(tmp_path: Path) -> Path:
    """A directory for an on-disk chdb session."""
    path = tmp_path / "chdb"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def artifact_dir() -> Path:
    """Where tests keep things a person may want to look at (screenshots, reports): `test-artifacts/`."""
    path = REPO / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def chromium_driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless Chromium (Debian's, via its chromedriver) driven by selenium, one per test module.

    Network features that would phone home are off, and the profile lives in a temp dir, so the
    browser touches nothing outside the test. Fails, rather than skips, when Chromium is missing:
    `make setup` installs it.
    """
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("needs /usr/bin/chromium and /usr/bin/chromedriver: run `make setup`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
