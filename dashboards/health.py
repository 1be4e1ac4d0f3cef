"""The report's health block: whether the experiment can be read at all, before any lift.

Sample ratio, users per arm against the plan, days run, guardrails, users seen in several variants — the
checks a person runs first, in one row at the top of the page, each marked ok, warn or bad.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from analysis.results import Results
from dashboards.formatting import count, p_phrase

HealthStatus = Literal["ok", "warn", "bad", "info"]


@dataclass(frozen=True)
class HealthItem:
    label: str
    value: str
    status: HealthStatus


def _srm(results: Results) -> HealthItem:
    srm = results.srm
    if not srm.checked:
        return HealthItem("sample ratio", "no split to check", "info")
    if srm.p_value is None:
        return HealthItem("sample ratio", "not enough users to check", "warn")
    return HealthItem(
        "sample ratio", f"{'ok' if srm.ok else 'MISMATCH'} ({p_phrase(srm.p_value)})", "ok" if srm.ok else "bad"
    )


def _users(results: Results) -> HealthItem:
    observed = results.srm.observed
    smallest = min(observed.values(), default=0)
    value = " / ".join(f"{count(n)} {arm}" for arm, n in observed.items()) or "none yet"
    design = results.design
    if design.planned_users:
        planned = design.planned_users // max(len(observed), 1)
        reached = smallest >= planned
        return HealthItem("users per arm", f"{value} (plan: {count(planned)} each)", "ok" if reached else "warn")
    low = smallest < design.min_users_per_arm
    return HealthItem("users per arm", value, "warn" if low else "ok")


def _days(results: Results) -> HealthItem | None:
    dates = sorted({date.fromisoformat(p.date) for p in results.daily})
    if not dates:
        return None
    span = (dates[-1] - dates[0]).days + 1
    return HealthItem("days with new users", f"{span} ({dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d})", "info")


def _guardrails(results: Results) -> HealthItem | None:
    if not results.guardrails:
        return None
    statuses = [g.status for g in results.guardrails]
    parts = [f"{statuses.count(s)} {s}" for s in ("pass", "fail", "inconclusive") if statuses.count(s)]
    status: HealthStatus = "bad" if "fail" in statuses else ("warn" if "inconclusive" in statuses else "ok")
    return HealthItem("guardrails", ", ".join(parts), status)


def _switched(results: Results) -> HealthItem | None:
    total = sum(results.srm.observed.values())
    if not results.switched_users or not total:
        return None
    share = results.switched_users / total
    return HealthItem(
        "seen in several variants",
        f"{count(results.switched_users)} users ({share:.1%})",
        "warn" if share > 0.01 else "info",
    )


def health(results: Results) -> list[HealthItem]:
    """The checks that apply to these results, in reading order."""
    items = [_srm(results), _users(results), _days(results), _guardrails(results), _switched(results)]
    return [item for item in items if item is not None]
