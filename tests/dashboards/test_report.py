import html
import re
from pathlib import Path

import pytest

from analysis.results import Results
from dashboards.errors import ReportLayoutError
from dashboards.formatting import pct_interval
from dashboards.report import render_html, render_report


def visible_text(page: str) -> str:
    """The page's text as a reader sees it (tags stripped, entities decoded, whitespace collapsed)."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture(scope="module")
def page(results: Results) -> str:
    return render_html(results)


@pytest.fixture(scope="module")
def srm_page(srm_failed_results: Results) -> str:
    return render_html(srm_failed_results)


def write_report(results: Results, reports_dir: Path) -> Path:
    folder = reports_dir / results.experiment
    results.write(folder / "results.json")
    return render_report(results, folder / "report.html")


def test_report_headline_is_the_decision_with_its_reasons(page, results):
    text = visible_text(page)
    assert "Decision" in text and "primary metric CTR (higher is better)" in text
    a, b = results.decision_for("treatment_a"), results.decision_for("treatment_b")
    assert a.recommendation == "inconclusive" and b.recommendation == "no_ship"
    assert "treatment_a inconclusive Not enough evidence either way yet." in text
    assert "treatment_b don't ship A significant change in the wrong direction, or a guardrail broken." in text
    for reason in (*a.reasons, *b.reasons):
        assert reason in text
    assert "ship it?" not in text and "Sample-ratio mismatch" not in text


def test_a_shipped_variant_says_ship_and_a_lower_is_better_rise_never_does(results_factory, row_factory):
    shipped = render_html(results_factory(guardrails=[]))
    assert '<span class="badge badge-ship">ship</span>' in shipped
    rows = [
        row_factory("latency_p95", "treatment_a", "delta", 200.0, 0.12, 0.03, 0.0001, 0.0002, role="primary"),
        row_factory("latency_p95", "treatment_b", "delta", 200.0, -0.01, 0.03, 0.5, 0.5, role="primary"),
    ]
    slower = visible_text(render_html(results_factory(primary_metric="latency_p95", results=rows, guardrails=[])))
    assert (
        "treatment_a don't ship" in slower and "primary metric got significantly worse: latency_p95 +12.00%" in slower
    )
    assert "treatment_a ship" not in slower


def test_report_has_every_section(page):
    text = visible_text(page)
    for section in ("decision", "lifts", "over-time", "guardrails", "results", "online-offline", "method"):
        assert f'id="{section}"' in page
    assert page.count("<svg") == 5  # forest (wide and narrow), CTR by calendar day and by exposure day, exposures
    assert "CTR lift by calendar day (cumulative)" in text and "CTR lift by days since first exposure" in text
    assert "Relative lift by metric" in text and "Users first exposed per day" in text


def test_results_table_shows_the_interval_that_agrees_with_the_p_value(page, results):
    table = page[page.index('id="results"') : page.index('id="online-offline"')]
    assert table.count("<tr class=") == len(results.results)
    text = visible_text(table)
    first = results.results[0]
    assert f"+4.1% {pct_interval(first.ci_low_adjusted, first.ci_high_adjusted)}" in text
    assert "0.0003" in text and "0.0016" in text  # adjusted p-values
    assert "5,000 / 5,037" in text and "lower is better" in text and "p abs." in text


def test_guardrails_offline_and_method_notes(page):
    text = visible_text(page)
    assert "latency p95 treatment_b lower is better +26.6% +31.0% +10.0% fail" in text
    assert "zero result rate treatment_a lower is better +1.0% +14.0% +10.0% inconclusive" in text
    assert "P@10 MRR@10 nDCG@10 ANN recall@10" in text
    assert "treatment_b resnet18-simclr@2 HNSW32" in text and "0.962" in text
    assert "Welch's t-test" in text
    assert "Variance reduction achieved: CTR 23.4% (treatment_a), 22.9% (treatment_b)." in text
    assert "The primary metric (CTR) is its own family" in text
    assert "Holm (controls the family-wise error rate)" in text
    assert "one-sided non-inferiority test against control" in text
    assert "dwell_seconds excludes sessions shorter than 1 s (bot filter)." in text


def test_srm_failure_shows_a_red_banner_and_an_invalid_decision(srm_page):
    text = visible_text(srm_page)
    assert 'class="banner banner-srm" id="srm-banner" role="alert"' in srm_page
    assert "Sample-ratio mismatch — verdict withheld" in text
    assert "differs from the designed split by more than chance allows (chi-square test, p<0.0001)" in text
    assert "treatment_a 31.0%" in text  # observed share beside the designed 33.3%
    assert "ship" not in text.replace("don't ship", "").replace("relationship", "").lower().split("decision")[1][:300]
    assert text.count("invalid — do not read") == 2


def test_none_values_render_as_dashes_never_nan(no_data_results):
    page = render_html(no_data_results)
    text = visible_text(page)
    assert "primary metric ctr cannot be read: no exposures logged yet" in text
    assert "Users per arm" in text
    assert "—" in text
    assert not re.search(r"\bnan\b", page, re.IGNORECASE)
    assert not re.search(r"\bNone\b", text)


def test_nan_values_never_leak(results):
    nan = float("nan")
    row = results.results[0].model_copy(update={"rel_lift": nan, "ci_low": nan, "p_value": nan, "control_mean": nan})
    guardrail = results.guardrails[0].model_copy(update={"estimate": nan, "bound": nan})
    broken = results.model_copy(update={"results": [row, *results.results[1:]], "guardrails": [guardrail]})
    page = render_html(broken)
    assert not re.search(r"\bnan\b", page, re.IGNORECASE)


def test_names_are_escaped(results_factory):
    evil = results_factory(experiment="<script>alert(1)</script>", status='"><img src=x onerror=alert(2)>')
    page = render_html(evil)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert not re.search(r"<img", page, re.IGNORECASE)


def test_report_is_self_contained(page):
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<(?:script|link|iframe|img)\b", page, re.IGNORECASE)
    assert "@import" not in page and "url(http" not in page


def test_render_report_writes_the_file_and_the_index(results, tmp_path):
    path = write_report(results, tmp_path)
    assert path == tmp_path / "encoder-v2-vs-v1" / "report.html"
    assert "<title>encoder-v2-vs-v1 — experiment report</title>" in path.read_text()
    assert 'href="encoder-v2-vs-v1/report.html"' in (tmp_path / "index.html").read_text()
    assert not list(tmp_path.rglob("*.tmp"))


def test_render_report_refuses_paths_outside_the_layout(results, tmp_path):
    with pytest.raises(ReportLayoutError, match="reports_dir/<experiment>/report.html"):
        render_report(results, tmp_path / "x.html")
    assert not list(tmp_path.iterdir())


def test_rendering_is_deterministic(page, results):
    assert render_html(results) == page


def test_health_block_comes_first_with_each_check(page, results_factory):
    text = visible_text(page[page.index('id="health"') : page.index('id="decision"')])
    assert "sample ratio ok (p=0.410)" in text
    assert "users per arm 5,000 control / 5,037 treatment_a / 4,988 treatment_b" in text
    assert "days with new users 14 (2024-05-01 to 2024-05-14)" in text
    assert "guardrails 1 pass, 1 fail, 1 inconclusive" in text
    assert page.index('id="health"') < page.index('id="decision"')
    planned = render_html(results_factory(switched_users=300, design={"planned_users": 30_000}))
    health = visible_text(planned[planned.index('id="health"') : planned.index('id="decision"')])
    assert "(plan: 10,000 each)" in health and "seen in several variants 300 users (2.0%)" in health
    assert 'class="health-item health-warn"' in planned


def test_header_units_one_row_per_metric_and_downloads(results_factory):
    about = {"description": "v2 encoder trained on clicks", "owner": "search-team", "hypothesis": "clicks teach it"}
    page = render_html(results_factory(about=about, design={"start": "2024-05-01T00:00:00Z"}))
    text = visible_text(page)
    assert "v2 encoder trained on clicks" in text and "Hypothesis: clicks teach it" in text
    assert "owner search-team" in text and "window 2024-05-01 00:00 UTC → open" in text
    assert "41,300 ms" in text  # dwell per click's unit
    main = page[page.index('id="results"') : page.index("<details")]
    assert "CUPED" in main and "</details>" in page  # CUPED rows lead; the delta rows are one click away
    assert visible_text(main).count(
        "treatment_a CUPED"
    ) == 1 and "CTR primary higher is better treatment_a delta" not in (visible_text(main))
    assert 'href="results.json" download' in page and 'href="data:text/csv;charset=utf-8,metric%2Cvariant' in page


def test_interleaving_is_worded_as_a_preference(results_factory, row_factory):
    row = row_factory("interleaving_preference", "treatment_a", "interleaving", 0.45, 0.02, 0.01, 0.001, None)
    info = {"interleaving_preference": {"direction": "higher_is_better", "kind": "preference"}}
    page = render_html(results_factory(kind="interleaving", primary_metric="interleaving_preference", results=[row],
                                       metrics=info, guardrails=[], timeline=[]))  # fmt: skip
    text = visible_text(page)
    assert "share of clicked queries the variant's ranker won minus the share control's won" in text
    assert "percentages of the control value" not in text
    assert "preference for the variant's ranker (share of clicked queries)" in page


def test_per_user_results_have_no_empty_time_cards(results_factory):
    page = render_html(results_factory(daily=[], timeline=[]))
    assert "Users per arm" in page and "Users first exposed per day" not in page
    assert 'class="empty"' not in page[page.index('id="over-time"') : page.index('id="guardrails"')]
