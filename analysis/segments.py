"""Segments: users grouped by a user attribute's value at their first exposure (platform, country, ...).

A user's segment is fixed when they enter the experiment, as their arm is, so a treatment that changes what
users report later cannot move them between segments. The most common `MAX_VALUES` values of an attribute get
their own results; the rest are pooled as `OTHER`, and users whose first search carried no value are `NONE` — so
a free-text attribute cannot turn a report into thousands of rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.moments import Moments

MAX_VALUES = 20
OTHER = "(other)"
NONE = "(none)"


def top_values(by_value: Mapping[str, Mapping[str, Moments]]) -> dict[str, dict[str, Moments]]:
    """value → arm → moments with at most `MAX_VALUES` values (by users, ties by name) plus `OTHER`; the empty
    value reads `NONE`."""
    users = {value: sum(m.n for m in arms.values()) for value, arms in by_value.items()}
    ranked = sorted(users, key=lambda v: (-users[v], v))
    kept, pooled = ranked[:MAX_VALUES], ranked[MAX_VALUES:]
    out: dict[str, dict[str, Moments]] = {(v or NONE): dict(by_value[v]) for v in kept}
    for value in pooled:
        target = out.setdefault(OTHER, {})
        for arm, moments in by_value[value].items():
            target[arm] = target[arm] + moments if arm in target else moments
    return out
