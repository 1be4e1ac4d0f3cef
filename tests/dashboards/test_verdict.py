from analysis.results import GuardrailResult, MetricResult, Results, SrmResult
from dashboards.verdict import preferred_row, treatment_variants, verdict_for, verdicts

OK_SRM = SrmResult(p_value=0.5, observed={"control": 1000, "treatment": 1010}, expected={}, ok=True)


def one_row(**fields: object) -> Results:
    """A single-comparison experiment: CTR, control vs treatment, delta method, the issue's example numbers."""
    row = dict(
        metric="ctr", variant="treatment", method="delta", control_mean=0.05, treatment_mean=0.05205,
        abs_lift=0.00205, abs_ci_low=0.001, abs_ci_high=0.0031, rel_lift=0.041, ci_low=0.020, ci_high=0.062,
        p_value=0.0001, p_value_adjusted=0.0003, significant=True, n_control=1000, n_treatment=1010,
    )  # fmt: skip
    row.update(fields)
    return Results(experiment="e", srm=OK_SRM, results=[MetricResult(**row)])


def test_significant_gain_reads_like_the_issue_example():
    verdict = verdict_for(one_row(), "treatment")
    assert verdict.kind == "win"
    assert verdict.text == ("treatment raised CTR by +4.1% (95% CI +2.0% to +6.2%, p=0.0003, Holm-adjusted) — ship it?")
    assert verdict.short == "CTR +4.1%, significant"


def test_significant_loss():
    results = one_row(rel_lift=-0.03, ci_low=-0.05, ci_high=-0.01)
    verdict = verdict_for(results, "treatment")
    assert verdict.kind == "loss"
    assert verdict.text.startswith("treatment lowered CTR by \u22123.0% (95% CI \u22125.0% to \u22121.0%")
    assert verdict.text.endswith("— don't ship.")


def test_not_significant_is_flat_and_names_bh_and_confidence_level():
    results = one_row(significant=False, p_value_adjusted=0.31, ci_low=-0.01, ci_high=0.09)
    results = results.model_copy(update={"correction": "bh", "alpha": 0.1})
    verdict = verdict_for(results, "treatment")
    assert verdict.kind == "flat"
    assert "(90% CI \u22121.0% to +9.0%, p=0.310, BH-adjusted)" in verdict.text
    assert verdict.short == "CTR +4.1%, not significant (p=0.310)"


def test_unadjusted_p_is_not_called_adjusted():
    verdict = verdict_for(one_row(p_value_adjusted=None), "treatment")
    assert "p=0.0001)" in verdict.text
    assert "adjusted" not in verdict.text


def test_none_values_mean_not_enough_data_with_the_reason():
    results = one_row(rel_lift=None, ci_low=None, ci_high=None, p_value=None, p_value_adjusted=None,
                      significant=False, note="zero clicks in control")  # fmt: skip
    verdict = verdict_for(results, "treatment")
    assert verdict.kind == "no_data"
    assert verdict.text == "Not enough data to call CTR for treatment yet: zero clicks in control"


def test_srm_failure_withholds_the_verdict():
    results = one_row().model_copy(update={"srm": SrmResult(p_value=1e-6, observed={}, expected={}, ok=False)})
    verdict = verdict_for(results, "treatment")
    assert verdict.kind == "withheld"
    assert "+4.1%" not in verdict.text
    assert "sample-ratio mismatch (SRM p<0.0001)" in verdict.text


def test_violated_guardrail_adds_a_caveat_for_that_variant_only():
    guardrails = [
        GuardrailResult(metric="latency_p95_ms", variant="treatment", value=268.4, max=250.0, ok=False),
        GuardrailResult(metric="error_rate", variant="other", value=0.5, max=0.1, ok=False),
        GuardrailResult(metric="zero_result_rate", variant="treatment", value=None, max=0.1, ok=None),
    ]
    verdict = verdict_for(one_row().model_copy(update={"guardrails": guardrails}), "treatment")
    assert verdict.caveat == "Guardrail violated: latency p95 ms = 268.4 (max 250) — resolve before shipping."


def test_preferred_row_prefers_sequential_then_cuped_then_delta_but_an_estimate_first(results):
    assert preferred_row(results, "ctr", "treatment_a").method == "cuped"
    sequential = results.results[0].model_copy(update={"method": "sequential", "rel_lift": 0.05})
    with_sequential = results.model_copy(update={"results": [*results.results, sequential]})
    assert preferred_row(with_sequential, "ctr", "treatment_a").method == "sequential"
    empty_sequential = sequential.model_copy(update={"rel_lift": None})
    with_empty = results.model_copy(update={"results": [*results.results, empty_sequential]})
    assert preferred_row(with_empty, "ctr", "treatment_a").method == "cuped"
    assert preferred_row(results, "ctr", "nobody") is None


def test_verdict_mentions_a_method_other_than_delta(results):
    (verdict_a, verdict_b) = verdicts(results)
    assert verdict_a.variant == "treatment_a"
    assert verdict_a.text == (
        "treatment_a raised CTR by +4.3% (95% CI +2.7% to +5.9%, p<0.0001, Holm-adjusted, CUPED) — ship it?"
    )
    assert verdict_b.kind == "flat"


def test_treatment_variants_come_from_rows_then_srm_counts():
    results = one_row().model_copy(
        update={"srm": SrmResult(p_value=0.5, observed={"control": 1, "treatment": 1, "late": 1}, expected={}, ok=True)}
    )
    assert treatment_variants(results) == ["treatment", "late"]
    assert [v.kind for v in verdicts(results)] == ["win", "no_data"]


def test_guardrail_caveat_names_the_bound_that_was_crossed():
    guardrail = GuardrailResult(metric="recall@10", variant="treatment", value=0.81, min=0.9, max=1.0, ok=False)
    verdict = verdict_for(one_row().model_copy(update={"guardrails": [guardrail]}), "treatment")
    assert verdict.caveat == "Guardrail violated: recall@10 = 0.81 (min 0.9) — resolve before shipping."
