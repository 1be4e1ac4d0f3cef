import pytest

from dashboards.tables import arm_traffic, guardrail_rows, metric_order, ordered_rows, variant_metrics


def test_rows_are_grouped_primary_metric_first(results_factory):
    results = results_factory(primary_metric="dwell_per_click")
    assert metric_order(results) == ["dwell_per_click", "ctr", "zero_result_rate"]
    keys = [(r.metric, r.variant, r.method) for r in ordered_rows(results)][:4]
    assert keys == [
        ("dwell_per_click", "treatment_a", "delta"),
        ("dwell_per_click", "treatment_b", "delta"),
        ("ctr", "treatment_a", "delta"),
        ("ctr", "treatment_a", "cuped"),
    ]


def test_guardrail_rows_show_change_worst_case_margin_and_status(results):
    rows = guardrail_rows(results)
    assert [(r.metric, r.variant, r.status, r.change, r.worst, r.margin) for r in rows] == [
        ("latency p95", "treatment_a", "pass", "+1.2%", "+5.8%", "+10.0%"),
        ("latency p95", "treatment_b", "fail", "+26.6%", "+31.0%", "+10.0%"),
        ("zero result rate", "treatment_a", "inconclusive", "+1.0%", "+14.0%", "+10.0%"),
    ]
    assert rows[0].direction == "lower is better"


def test_variant_metrics_put_online_means_beside_offline_scores(results):
    online, offline, rows = variant_metrics(results)
    assert online == ["ctr", "dwell_per_click", "zero_result_rate"]
    assert offline == ["precision@10", "mrr@10", "ndcg@10", "ann_recall@10"]
    assert [r.variant for r in rows] == ["control", "treatment_a", "treatment_b"]
    control, treatment_a, _ = rows
    assert control.online["ctr"] == (pytest.approx(0.052), None)
    assert treatment_a.online["ctr"] == (pytest.approx(0.052 * 1.043), pytest.approx(0.043))  # CUPED row
    assert treatment_a.encoder == "resnet18-simclr@2" and treatment_a.offline["ndcg@10"] == 0.772


def test_arm_traffic_normalises_expected_counts_to_shares(srm_failed_results):
    arms = {a.variant: a for a in arm_traffic(srm_failed_results)}
    assert arms["treatment_a"].users == 4480
    assert arms["treatment_a"].share == pytest.approx(4480 / 14468)
    assert arms["treatment_a"].expected_share == pytest.approx(1 / 3)


def test_interleaving_rows_get_preference_columns_not_ab_ones(results_factory, row_factory):
    from dashboards.report import render_html
    from dashboards.tables import interleaving_metrics

    preference = row_factory("ctr", "treatment_a", "interleaving", 0.5, 0.08, 0.03, 0.001, None)
    results = results_factory(
        results=[preference, row_factory("dwell_seconds", "treatment_a", "delta", 41.3, 0.01, 0.02, 0.3, 0.3)]
    )
    assert interleaving_metrics(results) == ["ctr"]
    online, _, rows = variant_metrics(results)
    assert online == ["dwell_seconds"]
    control, treatment_a, treatment_b = rows
    assert control.preference == {}
    assert treatment_a.preference == {"ctr": (pytest.approx(0.08), pytest.approx(0.05), pytest.approx(0.11))}
    assert treatment_b.preference == {"ctr": (None, None, None)}
    page = render_html(results)
    table = page[page.index('id="online-offline"') : page.index('id="method"')]
    assert "interleaving preference" in table and "+8.0%" in table and "+5.0% to +11.0%" in table
