"""The report as a person sees it: rendered by headless Chromium, screenshots kept in `test-artifacts/`."""

from pathlib import Path

import pytest

from analysis.results import Results
from dashboards.report import render_report

pytestmark = pytest.mark.browser


def open_report(driver, results: Results, reports_dir: Path) -> Path:
    folder = reports_dir / results.experiment
    results.write(folder / "results.json")
    path = render_report(results, folder / "report.html")
    driver.get(path.as_uri())
    return path


def full_page_screenshot(driver, path: Path) -> None:
    """Fit the window to the page's height first: Chromium's screenshot only covers the viewport."""
    driver.set_window_size(1280, 900)  # a taller window left by an earlier page would pad this one
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, height + 120)
    assert driver.save_screenshot(str(path))


def test_report_renders_in_chromium(chromium_driver, results, tmp_path, artifact_dir):
    from selenium.webdriver.common.by import By

    open_report(chromium_driver, results, tmp_path)
    assert chromium_driver.title == "encoder-v2-vs-v1 — experiment report"
    title = chromium_driver.find_element(By.ID, "title")
    assert title.is_displayed() and title.text == "encoder-v2-vs-v1"
    decision = chromium_driver.find_element(By.CSS_SELECTOR, "#decision .verdict-no_ship")
    assert decision.is_displayed() and decision.text.startswith("treatment_b\ndon't ship")
    reasons = decision.find_elements(By.CSS_SELECTOR, "ul.reasons li")
    assert [r.text for r in reasons] == results.decision_for("treatment_b").reasons
    assert not chromium_driver.find_elements(By.ID, "srm-banner")
    for name in ("forest", "timeline-ctr-calendar", "timeline-ctr-exposure_day", "exposures"):
        plot = chromium_driver.find_element(By.CSS_SELECTOR, f"svg.plot-{name}")
        assert plot.size["width"] > 300 and plot.size["height"] > 100
    full_page_screenshot(chromium_driver, artifact_dir / "report.png")


def test_srm_banner_is_visible_and_red(chromium_driver, srm_failed_results, tmp_path, artifact_dir):
    from selenium.webdriver.common.by import By

    open_report(chromium_driver, srm_failed_results, tmp_path)
    banner = chromium_driver.find_element(By.ID, "srm-banner")
    assert banner.is_displayed()
    assert banner.location["y"] < chromium_driver.find_element(By.ID, "decision").location["y"]
    assert banner.value_of_css_property("background-color") == "rgba(255, 235, 233, 1)"
    full_page_screenshot(chromium_driver, artifact_dir / "report-srm.png")


def test_index_links_to_the_report(chromium_driver, results, tmp_path, artifact_dir):
    from selenium.webdriver.common.by import By

    open_report(chromium_driver, results, tmp_path)
    chromium_driver.get((tmp_path / "index.html").as_uri())
    full_page_screenshot(chromium_driver, artifact_dir / "reports-index.png")
    chromium_driver.find_element(By.LINK_TEXT, "encoder-v2-vs-v1").click()
    assert chromium_driver.find_element(By.ID, "title").text == "encoder-v2-vs-v1"


@pytest.mark.parametrize("width", [1400, 390])
def test_report_fits_wide_and_phone_screens(chromium_driver, results, tmp_path, artifact_dir, width):
    """No horizontal scrolling of the page at either width (wide tables scroll inside their card), and the
    forest plot that fits the width is the one shown."""
    from selenium.webdriver.common.by import By

    open_report(chromium_driver, results, tmp_path)
    chromium_driver.set_window_size(width, 1000)
    inner = chromium_driver.execute_script("return window.innerWidth")
    overflow = chromium_driver.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= inner, f"page is {overflow}px wide in a {inner}px window"
    wide = chromium_driver.find_element(By.CSS_SELECTOR, "svg.plot-forest")
    narrow = chromium_driver.find_element(By.CSS_SELECTOR, "svg.plot-forest-narrow")
    shown = narrow if width < 640 else wide
    assert shown.is_displayed() and not (wide if shown is narrow else narrow).is_displayed()
    assert shown.size["width"] >= min(inner - 60, 900) * 0.8
    health = chromium_driver.find_element(By.ID, "health")
    assert health.location["y"] < chromium_driver.find_element(By.ID, "decision").location["y"]
    chromium_driver.set_window_size(width, 1000)
    height = chromium_driver.execute_script("return document.documentElement.scrollHeight")
    chromium_driver.set_window_size(width, height + 120)
    assert chromium_driver.save_screenshot(str(artifact_dir / f"report-{width}px.png"))
