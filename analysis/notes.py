"""Readable notes for the stats engine's codes: what results.json and the report show beside a row."""

from __future__ import annotations

from analysis.stats import (
    BASELINE_ZERO,
    CUPED_ARM_WITHOUT_PRE,
    CUPED_PRE_VARIANCE_ZERO,
    NOT_ENOUGH_DATA,
    RELATIVE_SE_ZERO,
    ZERO_VARIANCE,
)

ANY_METHOD = ""

NOTE_TEXT: dict[str, dict[str, str]] = {
    ANY_METHOD: {
        NOT_ENOUGH_DATA: "not enough data: an arm has fewer than two users (or no events)",
        BASELINE_ZERO: "the control value is zero: no relative lift; the absolute difference is tested",
        ZERO_VARIANCE: "no variance in either arm: the observed values are compared as they are, without a test",
        CUPED_PRE_VARIANCE_ZERO: "the pre-period covariate does not predict the metric: "
        "CUPED kept the unadjusted estimate",
        CUPED_ARM_WITHOUT_PRE: "an arm has no varying pre-period data: CUPED kept the unadjusted estimate",
        RELATIVE_SE_ZERO: "the relative lift has no standard error: the absolute difference is tested",
    },
    # the interleaving test's codes mean other things than in an A/B row
    "interleaving": {
        NOT_ENOUGH_DATA: "not enough data: fewer than two users, or no click on an interleaved result",
        ZERO_VARIANCE: "no variance in the preference (every clicked query tied, or every user prefers alike)",
    },
}
"""The sentence for each note code, by the method of the row it annotates (`ANY_METHOD` where none is specific)."""


def note_text(code: str | None, method: str = ANY_METHOD) -> str | None:
    """The sentence for a note code (the method's own first), the code itself if unknown, None for no note."""
    if code is None:
        return None
    return NOTE_TEXT.get(method, {}).get(code) or NOTE_TEXT[ANY_METHOD].get(code, code)
