"""The verdict in plain words: what the primary metric says about each treatment variant.

A person deciding a launch reads this sentence first, so it names the direction, the size with its
interval, the p-value the decision rests on and its correction — and refuses to speak when the
comparison cannot be trusted (sample-ratio mismatch) or when there is nothing to compare yet.
The primary metric is taken to be higher-is-better (CTR, dwell time), as the experiment YAML
declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

from analysis.results import GuardrailResult, MetricResult, Results
from dashboards.formatting import (
    CORRECTION_SHORT,
    confidence_label,
    is_number,
    method_label,
    metric_label,
    num,
    p_phrase,
    pct,
    pct_interval,
)

VerdictKind = Literal["win", "loss", "flat", "no_data", "withheld"]

# Which row a decision rests on when several methods compare the same metric and variant:
# sequential first (it was asked for because people peek, and only it stays valid under peeking),
# then CUPED (same estimand as delta, narrower interval), then delta, then interleaving.
METHOD_PREFERENCE = ("sequential", "cuped", "delta", "interleaving")


@dataclass(frozen=True)
class Verdict:
    """The decision sentence for one treatment variant on the primary metric."""

    variant: str
    metric: str
    kind: VerdictKind
    text: str
    short: str
    caveat: str | None = None


def treatment_variants(results: Results) -> list[str]:
    """Non-control variants in a stable order: as they first appear in the rows, then in the SRM counts."""
    seen = [row.variant for row in results.results] + list(results.srm.observed)
    return [v for v in dict.fromkeys(seen) if v != results.control]


def preferred_row(results: Results, metric: str, variant: str) -> MetricResult | None:
    """The row a decision rests on (see `METHOD_PREFERENCE`); one with an estimate beats one without."""
    rows = [r for r in results.results if r.metric == metric and r.variant == variant]
    rank = {m: i for i, m in enumerate(METHOD_PREFERENCE)}
    rows.sort(key=lambda r: (not is_number(r.rel_lift), rank.get(r.method, len(rank))))
    return rows[0] if rows else None


def _violations(guardrails: list[GuardrailResult], variant: str) -> str | None:
    broken = [g for g in guardrails if g.variant == variant and g.ok is False]
    if not broken:
        return None
    parts = []
    for g in broken:
        below_min = g.min is not None and is_number(g.value) and g.value < g.min
        bound = f"min {num(g.min)}" if below_min or g.max is None else f"max {num(g.max)}"
        parts.append(f"{metric_label(g.metric)} = {num(g.value)} ({bound})")
    return "Guardrail violated: " + "; ".join(parts) + " — resolve before shipping."


def _evidence(results: Results, row: MetricResult) -> str:
    """The bracketed evidence, e.g. "95% CI +2.0% to +6.2%, p=0.0003, Holm-adjusted" (+ method unless delta)."""
    if row.p_value_adjusted is not None:
        p_part = f"{p_phrase(row.p_value_adjusted)}, {CORRECTION_SHORT[results.correction]}-adjusted"
    else:
        p_part = p_phrase(row.p_value)
    parts = [f"{confidence_label(results.alpha)} CI {pct_interval(row.ci_low, row.ci_high)}", p_part]
    if row.method != "delta":
        parts.append(method_label(row.method))
    return ", ".join(parts)


def verdict_for(results: Results, variant: str) -> Verdict:
    """The verdict for one treatment variant on `results.primary_metric`."""
    metric, label = results.primary_metric, metric_label(results.primary_metric)
    make = partial(Verdict, variant, metric, caveat=_violations(results.guardrails, variant))
    if not results.srm.ok:
        text = (
            f"Verdict withheld for {variant}: sample-ratio mismatch (SRM {p_phrase(results.srm.p_value)}) — "
            "the arms are not comparable until its cause is found."
        )
        return make("withheld", text, "withheld (SRM)")
    row = preferred_row(results, metric, variant)
    if row is None or not is_number(row.rel_lift):
        why = f": {row.note}" if row is not None and row.note else "."
        return make("no_data", f"Not enough data to call {label} for {variant} yet{why}", "not enough data")
    lift, evidence = pct(row.rel_lift), _evidence(results, row)
    if row.significant and row.rel_lift > 0:
        return make(
            "win", f"{variant} raised {label} by {lift} ({evidence}) — ship it?", f"{label} {lift}, significant"
        )
    if row.significant:
        return make(
            "loss", f"{variant} lowered {label} by {lift} ({evidence}) — don't ship.", f"{label} {lift}, significant"
        )
    p_shown = row.p_value_adjusted if row.p_value_adjusted is not None else row.p_value
    return make(
        "flat",
        f"No significant change in {label} for {variant}: {lift} ({evidence}) — not enough evidence to ship.",
        f"{label} {lift}, not significant ({p_phrase(p_shown)})",
    )


def verdicts(results: Results) -> list[Verdict]:
    """One verdict per treatment variant, in `treatment_variants` order."""
    return [verdict_for(results, variant) for variant in treatment_variants(results)]
