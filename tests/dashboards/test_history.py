"""Offline-to-online agreement across experiments: points, rank correlations, the page and its screenshot."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scipy.stats import kendalltau, spearmanr

from analysis.results import MetricResult, OfflineMetrics, Results, SrmResult
from dashboards import collect_history, render_history, scan_history, write_index
from dashboards.agreement import rank_agreement
from dashboards.history import agreement_for, offline_metric_names
from dashboards.report import render_report

CONTROL_OFFLINE = {"precision@10": 0.700, "mrr@10": 0.800, "ndcg@10": 0.740, "ann_recall@10": 1.0}

# Five finished experiments with one treatment each. nDCG Δ and online lift agree on order except two
# swapped pairs: Spearman ρ = 1 − 6·4 / (5·24) = 0.8, Kendall τ = (8 − 2) / 10 = 0.6. P@10 Δ runs the
# other way (ρ = −0.8); MRR Δ is the same everywhere (no correlation); ANN recall only in three.
NDCG_DELTAS = (0.01, 0.02, 0.03, 0.04, 0.05)
LIFTS = (0.01, 0.03, 0.02, 0.05, 0.04)


def _stamp(day: int) -> datetime:
    return datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=day)


@pytest.fixture
def experiment(row_factory: Callable[..., MetricResult]) -> Callable[..., Results]:
    """`experiment(name, day, {variant: (offline Δs, lift, significant)}, **overrides)` → a stopped A/B experiment."""

    def build(name: str, day: int, treatments: dict, *, method: str = "cuped", **overrides: object) -> Results:
        rows, offline = [], [OfflineMetrics(variant="control", encoder="enc@1", index="Flat", metrics=CONTROL_OFFLINE)]
        for variant, (deltas, lift, significant) in treatments.items():
            p = 0.001 if significant else 0.4
            rows.append(row_factory("ctr", variant, "delta", 0.05, lift * 0.9, 0.03, p * 2, p * 3))
            rows.append(row_factory("ctr", variant, method, 0.05, lift, 0.012 if significant else 0.03, p, p * 2))
            rows.append(row_factory("dwell_per_click", variant, "delta", 30.0, -lift, 0.02, 0.3, 0.5))
            metrics = {m: CONTROL_OFFLINE[m] + d for m, d in deltas.items()}
            offline.append(OfflineMetrics(variant=variant, encoder=f"enc@{day + 2}", index="Flat", metrics=metrics))
        values: dict = dict(
            experiment=name,
            generated_at=_stamp(day),
            status="stopped",
            srm=SrmResult(p_value=0.5, observed={"control": 5000}, expected={"control": 5000.0}, ok=True),
            results=rows,
            offline=offline,
        )
        values.update(overrides)
        return Results(**values)

    return build


def visible_text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def offline_deltas(i: int) -> dict[str, float]:
    deltas = {"precision@10": NDCG_DELTAS[-1 - i], "mrr@10": 0.02, "ndcg@10": NDCG_DELTAS[i]}
    return {**deltas, "ann_recall@10": -0.01 * i} if i < 3 else deltas


@pytest.fixture
def reports_dir(tmp_path: Path, experiment: Callable[..., Results]) -> Path:
    for i, (lift, significant) in enumerate(zip(LIFTS, (False, True, False, True, True), strict=True)):
        experiment(f"exp-{i}", i, {"treatment": (offline_deltas(i), lift, significant)}).write(
            tmp_path / f"exp-{i}" / "results.json"
        )
    return tmp_path


def test_one_point_per_treatment_with_offline_and_online_deltas(reports_dir):
    points = collect_history(reports_dir)
    assert [p.experiment for p in points] == [f"exp-{i}" for i in range(5)]  # oldest first
    first = points[0]
    assert first.variant == "treatment" and first.series == "ab" and first.method == "cuped"
    assert first.metric == "ctr" and first.lift == pytest.approx(0.01)
    assert first.offline_delta["ndcg@10"] == pytest.approx(0.01)
    assert first.offline_delta["precision@10"] == pytest.approx(0.05)
    # the interval drawn is the one agreeing with the adjusted p-value that colours the point
    widened = 0.03 * (0.8 / 0.4) ** 0.25
    assert first.ci_low == pytest.approx(0.01 - widened) and first.decision_p == pytest.approx(0.8)
    assert offline_metric_names(points) == ["precision@10", "mrr@10", "ndcg@10", "ann_recall@10"]


def test_rank_correlation_matches_scipy_and_known_values(reports_dir):
    points = collect_history(reports_dir)
    ndcg = agreement_for(points, "ndcg@10")
    assert ndcg.n == 5
    assert round(ndcg.spearman, 5) == 0.8
    assert round(ndcg.kendall, 5) == 0.6
    assert round(ndcg.spearman_p, 5) == 0.13333  # exact: 16 of the 120 orders reach |ρ| ≥ 0.8
    assert round(spearmanr(NDCG_DELTAS, LIFTS).pvalue, 5) == 0.10409  # scipy's t-approximation is too small
    assert (
        round(ndcg.kendall_p, 5) == round(kendalltau(NDCG_DELTAS, LIFTS).pvalue, 5) == 0.23333
    )  # exact: 2·14 of 120 orders
    assert round(agreement_for(points, "precision@10").spearman, 5) == -0.8
    assert agreement_for(points, "ann_recall@10").n == 3


def test_small_or_constant_samples_give_a_note_not_nan():
    for pairs, note in (
        ([], "not enough experiments (n = 0"),
        ([(0.01, 0.02), (0.02, 0.05)], "not enough experiments (n = 2"),
        ([(0.02, 0.01), (0.02, 0.03), (0.02, 0.05)], "offline Δ is the same"),
        ([(0.01, 0.03), (0.02, 0.03), (0.03, 0.03)], "online lift is the same"),
    ):
        result = rank_agreement(pairs)
        assert not result.available and result.note.startswith("no correlation" if "same" in note else note)
        assert note in result.note
        assert result.spearman is None and result.kendall is None and result.spearman_p is None


def test_method_preference_is_cuped_then_delta_then_sequential(tmp_path, experiment):
    experiment("seq", 0, {"treatment": (offline_deltas(0), 0.02, False)}, method="sequential").write(
        tmp_path / "seq" / "results.json"
    )
    (point,) = collect_history(tmp_path)
    assert point.method == "delta" and point.lift == pytest.approx(0.018)


def test_unfinished_srm_failed_and_incomplete_experiments_are_left_out_with_reasons(reports_dir, experiment):
    broken_srm = SrmResult(p_value=1e-6, observed={"control": 5000}, expected={"control": 4000.0}, ok=False)
    extra = [
        experiment("live", 10, {"treatment": (offline_deltas(0), 0.03, True)}, status="running"),
        experiment("biased", 11, {"treatment": (offline_deltas(0), 0.03, True)}, srm=broken_srm),
        experiment("no-offline", 12, {"treatment": ({}, 0.03, True)}),
        experiment("unknown-status", 13, {"treatment": (offline_deltas(1), 0.03, True)}, status=None),
    ]
    layout = experiment("layout", 14, {"treatment": (offline_deltas(0), -0.2, True)})
    same_ranker = [o.model_copy(update={"encoder": "enc@1"}) for o in layout.offline]  # a client-side change
    extra.append(layout.model_copy(update={"offline": same_ranker}))
    for results in extra:
        results.write(reports_dir / results.experiment / "results.json")
    (reports_dir / "broken").mkdir()
    (reports_dir / "broken" / "results.json").write_text("{not json")

    scan = scan_history(reports_dir)
    assert {p.experiment for p in scan.points} == {f"exp-{i}" for i in range(5)} | {"unknown-status"}
    reasons = {(item.experiment, item.variant): item.reason for item in scan.left_out}
    assert reasons == {
        ("broken", None): "unreadable results.json",
        ("live", None): "running: not finished yet",
        ("biased", None): "sample-ratio mismatch: its lifts are biased",
        ("no-offline", "treatment"): "no offline metrics for treatment",
        ("layout", "treatment"): "same encoder and index as control: no ranker change",
    }
    everything = collect_history(reports_dir, include_unfinished=True)
    live = [p for p in everything if p.experiment == "live"]
    assert len(live) == 1 and not live[0].finished


def test_metric_option_and_interleaving_series(tmp_path, experiment, row_factory):
    results = experiment("blend", 0, {"treatment": (offline_deltas(2), 0.02, True)})
    preference = row_factory("ctr", "treatment", "interleaving", 0.5, 0.06, 0.02, 0.001, None)
    results.model_copy(update={"results": [*results.results, preference]}).write(tmp_path / "blend" / "results.json")
    ab, interleaving = collect_history(tmp_path)
    assert (ab.series, interleaving.series) == ("ab", "interleaving")
    assert interleaving.lift == pytest.approx(0.06) and interleaving.decision_p == pytest.approx(0.001)
    (dwell,) = collect_history(tmp_path, metric="dwell_per_click")
    assert dwell.metric == "dwell_per_click" and dwell.lift == pytest.approx(-0.02)
    assert not collect_history(tmp_path, metric="latency_p95")
    assert scan_history(tmp_path, metric="latency_p95").left_out[0].reason == "no online estimate of latency p95"
    page = render_history(tmp_path).read_text()
    assert 'id="series-ab"' in page and 'id="series-interleaving"' in page
    assert "Interleaving experiments: offline Δ against CTR interleaving preference" in visible_text(page)


def test_plots_mark_every_point_and_share_no_ids(reports_dir):
    page = render_history(reports_dir).read_text()
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert [len(re.findall(r'id="agreement-ab-\d-[a-z0-9-]+-point-\d+"', svg)) for svg in svgs] == [5, 5, 5, 3]
    ids = re.findall(r'\sid="([^"]+)"', "".join(svgs))
    assert len(ids) == len(set(ids))


def test_page_shows_headline_ranking_plots_and_table(reports_dir):
    path = render_history(reports_dir)
    assert path == reports_dir / "history.html"
    page = path.read_text()
    text = visible_text(page)
    assert "n too small to name an offline metric that predicts the CTR lift vs control: the closest, nDCG@10 Δ" in text
    assert "Spearman ρ = +0.80 (p=0.133), Kendall τ = +0.60 over 5 treatments" in text
    assert page.count("<svg") == 4  # one plot per offline metric
    assert page.count('class="point') == 5
    ranking = visible_text(page[page.index('class="ranking"') : page.index("</table>")])
    assert ranking.index("nDCG@10") < ranking.index("P@10")  # best first
    assert "no correlation: the offline Δ is the same for every point" in ranking
    assert "ANN recall@10 3 not enough experiments (n = 3" not in text  # three points are enough
    assert "+0.050" in text and "−0.020" in text  # offline Δ columns
    assert "+3.0% 95% +1.6% to +4.4%" in text  # 0.03 ± 0.012 widened by its Holm adjustment
    assert not re.search(r"\bnan\b", page, re.IGNORECASE)
    assert not list(reports_dir.glob(".*.tmp"))


def test_too_few_experiments_say_so(tmp_path, experiment):
    experiment("only", 0, {"treatment": (offline_deltas(0), 0.02, True)}).write(tmp_path / "only" / "results.json")
    text = visible_text(render_history(tmp_path).read_text())
    assert "Not enough experiments yet to tell which offline metric predicts the CTR lift vs control" in text
    assert "1 treatment so far, a rank correlation needs 3" in text
    assert "not enough experiments (n = 1; a correlation needs 3)" in text


def test_a_predictor_is_named_only_when_its_correlation_is_significant(tmp_path, experiment):
    """Six treatments in the same order offline and online: exact p = 2 / 6! = 0.0028, so nDCG@10 is named."""
    for i in range(6):
        deltas = {"ndcg@10": 0.01 * (i + 1), "precision@10": 0.01, "mrr@10": 0.01}
        experiment(f"e{i}", i, {"treatment": (deltas, 0.01 * (i + 1), True)}).write(tmp_path / f"e{i}" / "results.json")
    text = visible_text(render_history(tmp_path).read_text())
    assert "nDCG@10 Δ orders treatments most like the CTR lift vs control: Spearman ρ = +1.00 (p=0.0028)" in text


def test_empty_reports_dir_renders_an_empty_page(tmp_path):
    text = visible_text(render_history(tmp_path).read_text())
    assert "No points yet" in text and "0 experiments, 0 points" in text


def test_names_are_escaped(tmp_path, experiment):
    evil = "<script>alert(1)</script>"
    for i in range(3):
        results = experiment(f"{evil}{i}", i, {f"<b>v</b>&{i}": (offline_deltas(i), LIFTS[i], True)})
        results.write(tmp_path / f"odd name&{i}" / "results.json")
        render_report(results, tmp_path / f"odd name&{i}" / "report.html")
    page = render_history(tmp_path).read_text()
    assert not re.search(r"<script|<b>v", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;0" in page and "&lt;b&gt;v&lt;/b&gt;&amp;0" in page
    assert 'href="odd%20name%260/report.html"' in page


def test_index_links_to_history_once_it_exists(reports_dir, tmp_path):
    assert "history.html" not in write_index(reports_dir).read_text()
    render_history(reports_dir)
    assert '<a href="history.html" id="history-link">' in (reports_dir / "index.html").read_text()
    elsewhere = render_history(reports_dir, tmp_path / "out" / "h.html")
    assert 'href="../index.html"' in elsewhere.read_text()


def test_spearman_of_ties_matches_scipy():
    xs, ys = [0.01, 0.01, 0.02, 0.03], [0.02, 0.01, 0.01, 0.04]
    result = rank_agreement(list(zip(xs, ys, strict=True)))
    assert math.isclose(result.spearman, spearmanr(xs, ys).statistic, abs_tol=1e-12)
    assert math.isclose(result.kendall, kendalltau(xs, ys).statistic, abs_tol=1e-12)


@pytest.mark.browser
def test_history_page_in_chromium(chromium_driver, tmp_path, experiment, artifact_dir):
    """A realistic history: eight A/B experiments (some with two treatments), one still running."""
    from selenium.webdriver.common.by import By

    plan = [
        ("encoder-v2-vs-v1", {"simclr-v2": ((0.021, 0.018, 0.024, 0.0), 0.031, True)}),
        ("hnsw-index", {"hnsw32": ((-0.004, -0.003, -0.005, -0.038), -0.012, False)}),
        ("rerank-diversity", {"mmr": ((-0.011, 0.004, -0.006, 0.0), 0.008, False)}),
        ("encoder-v3-clicks", {"clicks-ft": ((0.034, 0.029, 0.036, 0.0), 0.047, True)}),
        ("ivf-vs-flat", {"ivf256": ((-0.009, -0.008, -0.011, -0.061), -0.024, True)}),
        (
            "resnet-width",
            {
                "wide": ((0.012, 0.006, 0.01, 0.0), 0.004, False),
                "narrow": ((-0.015, -0.01, -0.012, 0.0), -0.016, False),
            },
        ),
        ("hard-negatives", {"hard-neg": ((0.018, 0.022, 0.02, 0.0), 0.022, True)}),
        ("encoder-v4-big", {"big": ((0.041, 0.03, 0.039, 0.0), 0.019, False)}),
    ]
    for day, (name, treatments) in enumerate(plan):
        variants = {
            v: ({m: d for m, d in zip(CONTROL_OFFLINE, deltas, strict=True)}, lift, significant)
            for v, (deltas, lift, significant) in treatments.items()
        }
        status = "running" if name == "encoder-v4-big" else "stopped"
        results = experiment(name, day, variants, status=status)
        results.write(tmp_path / name / "results.json")
        render_report(results, tmp_path / name / "report.html")
    path = render_history(tmp_path, include_unfinished=True)

    chromium_driver.get(path.as_uri())
    assert chromium_driver.title == "Offline vs online — vsx reports"
    headline = chromium_driver.find_element(By.CSS_SELECTOR, "#series-ab .headline")
    assert headline.is_displayed() and "orders treatments most like the CTR lift" in headline.text
    plots = chromium_driver.find_elements(By.CSS_SELECTOR, "#panels-ab svg.plot")
    assert len(plots) == 4
    assert all(p.size["width"] > 300 and p.size["height"] > 150 for p in plots)
    assert len(chromium_driver.find_elements(By.CSS_SELECTOR, "#points tr.point")) == 9
    chromium_driver.set_window_size(1280, 900)
    height = chromium_driver.execute_script("return document.documentElement.scrollHeight")
    chromium_driver.set_window_size(1280, height + 120)
    assert chromium_driver.save_screenshot(str(artifact_dir / "history.png"))

    chromium_driver.get((tmp_path / "index.html").as_uri())
    chromium_driver.find_element(By.ID, "history-link").click()
    assert chromium_driver.find_element(By.ID, "title").text == "Which offline metric predicts online wins?"


def test_spearman_p_is_exact_for_few_points():
    """Three perfectly ordered points: 2 of the 6 pairings reach |ρ| = 1, so p = 1/3 (scipy's t-approximation
    says p ≈ 0); with ties and more points it matches scipy's exact permutation test."""
    from scipy.stats import permutation_test

    assert math.isclose(rank_agreement([(0.01, 0.1), (0.02, 0.2), (0.03, 0.3)]).spearman_p, 1 / 3)
    xs, ys = [0.01, 0.01, 0.02, 0.03, 0.05, 0.04], [0.02, 0.01, 0.01, 0.04, 0.03, 0.06]
    reference = permutation_test(  # two-sided as |ρ| ≥ observed (scipy's default would double a one-sided p)
        (ys,), lambda y: abs(spearmanr(xs, y).statistic), permutation_type="pairings", n_resamples=math.inf,
        alternative="greater",
    )  # fmt: skip
    assert math.isclose(rank_agreement(list(zip(xs, ys, strict=True))).spearman_p, reference.pvalue, rel_tol=1e-9)
