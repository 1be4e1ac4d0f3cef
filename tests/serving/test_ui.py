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

from search_core.catalog import Catalog
from tests.serving.conftest import ThreadedServer, logged_events

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
    server: ThreadedServer, browser: webdriver.Chrome, app: FastAPI, artifact_dir: Path
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

    rows = sorted(
        (e["experiment"], e["event_type"], e["position"], e["dwell_ms"])
        for e in logged_events(app)
        if e["user_id"] == user_id and e["event_type"] in ("click", "dwell")
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


def test_a_search_lives_in_the_url_and_names_what_served_it(
    server: ThreadedServer, browser: webdriver.Chrome, artifact_dir: Path
) -> None:
    browser.get(server.url + "/")
    samples = WebDriverWait(browser, 10).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#sample-grid .sample"))
    )
    first = samples[0].get_attribute("data-image-id")
    samples[0].click()
    WebDriverWait(browser, 10).until(ec.url_contains("?image="))
    wait_status(browser, "results")
    summary = browser.find_element(By.ID, "summary").text
    assert "encoderpixels@1" in summary and "indexpixels-" in summary and "variantenc-v1 · " in summary
    assert browser.execute_script("return new URLSearchParams(location.search).get('image')") == first

    browser.refresh()  # the URL alone repeats the search
    WebDriverWait(browser, 10).until(ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#results .result")))
    assert browser.find_element(By.ID, "query-image").get_attribute("src").endswith(first.split("/")[-1])
    other = next(  # the grid is a fresh random sample after the reload
        b
        for b in browser.find_elements(By.CSS_SELECTOR, "#sample-grid .sample")
        if b.get_attribute("data-image-id") != first
    )
    second = other.get_attribute("data-image-id")
    other.click()
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return new URLSearchParams(location.search).get('image')") == second
    )
    browser.back()  # back to the first query, searched again
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "query-image").get_attribute("src").endswith(first.split("/")[-1])
    )
    browser.save_screenshot(str(artifact_dir / "serving_ui_url.png"))


def test_api_docs_render_offline(server: ThreadedServer, browser: webdriver.Chrome) -> None:
    """Swagger UI from the package's own assets: the page renders the API with no network beyond the server."""
    browser.get(server.url + "/docs")
    title = WebDriverWait(browser, 15).until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .title")))
    assert title.text.startswith("vsx")
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path[data-path='/v1/admin/analyze/{name}']")
    sources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert sources and all(s.startswith(server.url) for s in sources)
