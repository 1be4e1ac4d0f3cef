"""Method notes: which tests produced the numbers, so a reader can judge how far to trust them."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.results import Results
from dashboards.formatting import CORRECTION_LABELS, confidence_label, is_number, metric_label, num, p_phrase, pct
from dashboards.tables import READING_ORDER, metric_order

_CORRECTION_WHAT = {"holm": "controls the family-wise error rate", "bh": "controls the false discovery rate"}

_METHOD_TITLES = {
    "delta": "Welch's t-test, delta method",
    "sequential": "Sequential test",
    "interleaving": "Interleaving",
}
_METHOD_TEXT = {
    "delta": "Welch's t-test on per-user values (unequal variances). The p-value tests the relative lift whose "
    "interval is shown (delta method, because a ratio of two noisy means is itself noisy); the absolute "
    "difference has its own test (p abs.), which is the one read when the control value is zero.",
    "sequential": "Sequential test with always-valid p-values and confidence sequences: its rows stay valid "
    "however often the experiment was looked at, so the verdict rests on them when present.",
    "interleaving": "Interleaving: both rankers' results are merged into one list per query and each click "
    "credits the ranker that contributed the result; far more sensitive than an A/B split.",
}


_BAYESIAN_DELTA = (
    "Per-user values, with the relative lift's variance by the delta method (a ratio of two noisy means is itself "
    "noisy); the Bayesian engine reads that estimate and variance as the likelihood of the lift."
)


@dataclass(frozen=True)
class MethodNote:
    title: str
    text: str


def _cuped_text(results: Results) -> str:
    """What CUPED is, and the variance reduction it achieved per metric (per variant when they differ)."""
    parts = []
    for metric in metric_order(results):
        reductions = {
            r.variant: r.variance_reduction
            for r in results.results
            if r.metric == metric and r.method == "cuped" and is_number(r.variance_reduction)
        }
        if len(set(reductions.values())) == 1:
            parts.append(f"{metric_label(metric)} {pct(next(iter(reductions.values())), signed=False)}")
        elif reductions:
            per_variant = ", ".join(f"{pct(v, signed=False)} ({k})" for k, v in reductions.items())
            parts.append(f"{metric_label(metric)} {per_variant}")
    achieved = "; ".join(parts) if parts else "not reported"
    return (
        "CUPED adjusts each user's value by their pre-experiment value, removing variance the treatment "
        f"cannot have caused; same estimate, narrower interval. Variance reduction achieved: {achieved}."
    )


def method_notes(results: Results) -> list[MethodNote]:
    """One note per method present, then the multiple-comparison correction, SRM check and data source."""
    present = {r.method for r in results.results}
    methods = [m for m in READING_ORDER if m in present]
    bayes = results.design.engine == "bayesian"
    notes = [
        MethodNote("CUPED", _cuped_text(results))
        if m == "cuped"
        else (
            MethodNote("Delta method", _BAYESIAN_DELTA)
            if bayes and m == "delta"
            else MethodNote(_METHOD_TITLES[m], _METHOD_TEXT[m])
        )
        for m in methods
    ]
    correction = results.correction
    primary = metric_label(results.primary_metric)
    bayesian = results.design.bayesian
    if results.design.engine == "bayesian" and bayesian is not None:
        prior = (
            "a flat prior"
            if bayesian.prior == "flat"
            else f"a Normal prior (mean {pct(bayesian.prior_mean)}, standard deviation {pct(bayesian.prior_stddev)})"
        )
        notes.append(
            MethodNote(
                "Bayesian engine",
                f"Rows read the relative lift's Gaussian posterior under {prior} (gbstats' convention): the interval "
                f"is the {confidence_label(results.alpha)} credible interval, 'chance to win' the probability the "
                "treatment is better in the metric's good direction, 'risk' the expected relative loss of shipping "
                f"it. A treatment ships at a chance to win of {pct(bayesian.chance_to_win, signed=False)} or more "
                f"with a risk of at most {pct(bayesian.max_risk, signed=False)}; no multiple-comparison correction "
                "applies. Guardrails stay non-inferiority tests.",
            )
        )
    if not bayes:
        notes.append(
            MethodNote(
                "Multiple comparisons",
                f"The primary metric ({primary}) is its own family: Holm across its treatment variants (unadjusted "
                f"with one treatment), so adding secondary metrics never weakens it. Secondary metrics are adjusted "
                f"among themselves with {CORRECTION_LABELS[correction]} ({_CORRECTION_WHAT[correction]}). A row is "
                f"significant when its adjusted p < {results.alpha:g}. Intervals drawn and shown are adjusted the same "
                f"way ({confidence_label(results.alpha)} before adjustment), so an interval excludes zero exactly when "
                "its row is significant.",
            )
        )
    capped = [(name, info) for name, info in results.metrics.items() if info.capping]
    if capped:
        parts = []
        for name, info in capped:
            caps = ", ".join(
                f"{num(c.value)}{' ' + info.unit if info.unit else ''} ({pct(c.share_capped, signed=False)} of users)"
                if c.value is not None
                else "nothing (the percentile is 0)"
                for c in info.caps
            )
            parts.append(f"{metric_label(name)} {info.capping}" + (f": {caps}" if caps else ""))
        notes.append(
            MethodNote(
                "Capping",
                "Each user's value is capped before the statistics, at a percentile of all exposed users' values "
                f"(both arms pooled, so the cap cannot differ between arms) or a fixed value: {'; '.join(parts)}.",
            )
        )
    if results.segments:
        notes.append(
            MethodNote(
                "Segments",
                "A user's segment is the attribute's value on their first exposure. Each segment value is compared "
                f"like the whole experiment (delta method), corrected across the attribute's values with "
                f"{CORRECTION_LABELS[correction]}. Differential impact tests whether the primary metric's lift in a "
                "segment differs from its lift in every other user (Holm across every treatment and segment value): "
                "a flag means the effect differs there, not that the overall result is wrong.",
            )
        )
    if results.guardrails:
        notes.append(
            MethodNote(
                "Guardrails",
                "Each guardrail is a one-sided non-inferiority test against control: it passes when the worst "
                f"change the data allow (its {confidence_label(results.alpha)} one-sided bound) stays within the "
                "margin, fails when the metric got significantly worse and could be worse than the margin, and is "
                "inconclusive otherwise.",
            )
        )
    srm = results.srm
    if srm.checked:
        notes.append(
            MethodNote(
                "Sample-ratio check",
                f"Chi-square test of users per arm against the designed split: {p_phrase(srm.p_value)}, "
                f"{'passed' if srm.ok else 'FAILED'}."
                if srm.p_value is not None
                else "Not enough users yet to test the split.",
            )
        )
    if results.source:
        notes.append(MethodNote("Data source", results.source))
    return notes
