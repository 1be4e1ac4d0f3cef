"""The web page in headless Chromium (Debian's, via selenium) against a real uvicorn server on loopback:
pick a sample image, see results, open one (a click is logged), come back (a dwell is logged), upload an image.
The screenshots land in `test-artifacts/`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from event_logging.store import EventStore
from search_core.catalog import Catalog
from tests.serving.conftest import ThreadedServer

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def server(app: FastAPI) -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Debian chromium / chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1280,1100"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def wait_status(driver: webdriver.Chrome, text: str) -> None:
    WebDriverWait(driver, 10).until(
        lambda d: text in (d.find_element(By.TAG_NAME, "body").get_attribute("data-last-status") or "")
    )


def test_search_click_and_dwell_from_the_page(
    server: ThreadedServer, browser: webdriver.Chrome, app: FastAPI, store: EventStore, artifact_dir: Path
) -> None:
    browser.get(server.url + "/")
    samples = WebDriverWait(browser, 10).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#sample-grid .sample"))
    )
    assert len(samples) > 4
    user_id = browser.get_cookie("vsx_uid")["value"]
    samples[0].click()
    results = WebDriverWait(browser, 10).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results .result"))
    )
    assert len(results) == 10
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script(
            "return [...document.images].filter(i => i.src).every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    browser.save_screenshot(str(artifact_dir / "serving_ui.png"))

    results[2].click()
    WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, "detail")))
    wait_status(browser, "click logged")
    time.sleep(0.4)
    browser.save_screenshot(str(artifact_dir / "serving_ui_detail.png"))
    browser.find_element(By.ID, "detail-close").click()
    wait_status(browser, "dwell logged")
    assert not browser.find_element(By.ID, "detail").is_displayed()

    assert app.state.service.sink.flush(timeout=10)
    rows = store.query(
        f"SELECT experiment, event_type, position, dwell_ms FROM {store.database}.events "
        "WHERE user_id = %(u)s AND event_type IN ('click', 'dwell') ORDER BY experiment, event_type",
        {"u": user_id},
    )
    # The page reports itself as X-Attr-Platform: web, so the user is also in rerank-v1 (targeted at web):
    # each report is logged once per experiment.
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("enc-v1", "click", 3), ("enc-v1", "dwell", 3), ("rerank-v1", "click", 3), ("rerank-v1", "dwell", 3)
    ]  # fmt: skip
    assert rows[1][3] >= 400


def test_upload_from_the_page(
    server: ThreadedServer, browser: webdriver.Chrome, catalog: Catalog, tmp_path: Path
) -> None:
    image = tmp_path / "query.png"
    image.write_bytes(catalog.png(catalog.gallery_ids[3]))
    browser.get(server.url + "/")
    browser.find_element(By.ID, "upload-input").send_keys(str(image))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    results = WebDriverWait(browser, 10).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results .result"))
    )
    assert results[0].get_attribute("data-image-id") == catalog.gallery_ids[3]


def test_user_id_cookie_is_stable(server: ThreadedServer, browser: webdriver.Chrome) -> None:
    browser.get(server.url + "/")
    first = browser.get_cookie("vsx_uid")["value"]
    browser.get(server.url + "/")
    assert browser.get_cookie("vsx_uid")["value"] == first
