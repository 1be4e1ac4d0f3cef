"""How numbers and names read in a report: one place, shared by tables, verdicts and plots.

Relative values arrive as fractions (0.041) and read as signed percentages (+4.1%). Anything
missing or non-finite reads as an em dash, so a report never shows "nan" or "None". Negative
numbers use the typographic minus sign, which lines up with "+" in tables.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TypeGuard

MISSING = "—"
MINUS = "\N{MINUS SIGN}"

MANIFEST_BOOKKEEPING = frozenset({"eval_queries"})
"""Numbers a manifest keeps beside its offline metrics (how many queries were evaluated) that are not quality
metrics: never compared, correlated or listed as one."""

METHOD_LABELS = {"delta": "delta", "cuped": "CUPED", "sequential": "sequential", "interleaving": "interleaving"}
CORRECTION_LABELS = {"holm": "Holm", "bh": "Benjamini–Hochberg"}
CORRECTION_SHORT = {"holm": "Holm", "bh": "BH"}

# Abbreviations people write in capitals (or mixed case) when a metric name contains them.
_ABBREVIATIONS = {
    "ctr": "CTR",
    "mrr": "MRR",
    "ndcg": "nDCG",
    "map": "MAP",
    "ann": "ANN",
    "p": "P",
    "precision": "P",
    "qps": "QPS",
}


def is_number(value: float | None) -> TypeGuard[float]:
    """True for a finite number; None, NaN and infinities are 'no value'."""
    return value is not None and math.isfinite(value)


def _minus(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def pct(value: float | None, *, signed: bool = True) -> str:
    """A fraction as a percentage: 0.041 → "+4.1%"; two decimals below 0.1% so small lifts do not read as 0."""
    if not is_number(value):
        return MISSING
    percent = value * 100
    decimals = 1 if abs(percent) >= 0.095 else 2
    if round(percent, decimals) == 0:
        percent = 0.0  # no "−0.00%"
    return _minus(f"{percent:{'+' if signed else ''}.{decimals}f}%")


def pct_interval(low: float | None, high: float | None) -> str:
    """A confidence interval of fractions: "+2.0% to +6.2%"."""
    if not (is_number(low) and is_number(high)):
        return MISSING
    return f"{pct(low)} to {pct(high)}"


def num(value: float | None, *, signed: bool = False) -> str:
    """A plain value (a mean, an absolute lift): four significant digits, thousands separated."""
    if not is_number(value):
        return MISSING
    sign = "+" if signed else ""
    if abs(value) >= 1000:
        return _minus(f"{value:{sign},.0f}")
    return _minus(f"{value:{sign}.4g}")


def arm_value(value: float | None, fmt: str = "number") -> str:
    """An arm's value as its metric says it reads: a share as "8.1%", anything else as `num`."""
    return pct(value, signed=False) if fmt == "percent" else num(value)


def chance(value: float | None) -> str:
    """A posterior probability as a percentage that never rounds to a certainty: "97.3%", ">99.9%", "<0.1%"."""
    if not is_number(value):
        return MISSING
    return ">99.9%" if value > 0.999 else ("<0.1%" if value < 0.001 else f"{value * 100:.1f}%")


def num_interval(low: float | None, high: float | None) -> str:
    """A confidence interval of plain values: "+0.0012 to +0.0034"."""
    if not (is_number(low) and is_number(high)):
        return MISSING
    return f"{num(low, signed=True)} to {num(high, signed=True)}"


def score(value: float | None) -> str:
    """An offline score in [0, 1] (P@10, nDCG@10, recall) to three decimals, so columns line up."""
    return f"{value:.3f}" if is_number(value) else MISSING


def score_delta(value: float | None) -> str:
    """A difference of offline scores (treatment − control), signed to three decimals: "+0.032", "0.000"."""
    if not is_number(value):
        return MISSING
    return "0.000" if round(value, 3) == 0 else _minus(f"{value:+.3f}")


def coefficient(value: float | None) -> str:
    """A correlation coefficient in [−1, 1], signed to two decimals: "+0.80", "−0.33"."""
    if not is_number(value):
        return MISSING
    return "0.00" if round(value, 2) == 0 else _minus(f"{value:+.2f}")


def fixed(value: float | None, spec: str) -> str:
    """A value in a format spec (`".4f"`, `"+.2%"`), as plain-text tables on a terminal show it."""
    return format(value, spec) if is_number(value) else MISSING


def count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def pval(value: float | None) -> str:
    """A p-value: "<0.0001", "0.0003", "0.041", "0.41"."""
    if not is_number(value):
        return MISSING
    if value < 0.0001:
        return "<0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


def p_phrase(value: float | None) -> str:
    """A p-value inside a sentence: "p=0.0003", "p<0.0001" or "p not available"."""
    if not is_number(value):
        return "p not available"
    text = pval(value)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def metric_label(name: str) -> str:
    """A metric name as people write it: "ctr" → "CTR", "ndcg@10" → "nDCG@10", "ann_recall@10" → "ANN recall@10"."""
    base, at, k = name.partition("@")
    words = [_ABBREVIATIONS.get(word.lower(), word) for word in base.split("_")]
    return " ".join(words) + at + k


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def confidence_label(alpha: float) -> str:
    """The confidence level of an interval at significance `alpha`: 0.05 → "95%"."""
    return f"{(1 - alpha) * 100:.4g}%"


def timestamp(value: datetime | None) -> str:
    """A moment in UTC to the minute: "2024-05-08 14:03 UTC" (naive datetimes are taken as UTC)."""
    if value is None:
        return MISSING
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")
