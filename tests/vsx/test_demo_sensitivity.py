"""The demo summary's users-needed table: a ratio of the two designs only where both detected the difference."""

from __future__ import annotations

import pytest

from vsx.commands.demo import _users
from vsx.pipelines.demo import Sensitivity


def sensitivity(ab_detected: bool, il_detected: bool, same_direction: bool = True) -> Sensitivity:
    return Sensitivity("cnn@1", "cnn@2", ab_users=5_000.0, interleaving_users=15_000.0, ab_detected=ab_detected,
                       interleaving_detected=il_detected, same_direction=same_direction)  # fmt: skip


def test_a_ratio_needs_both_designs_to_detect_the_difference_the_same_way() -> None:
    assert sensitivity(True, True).ratio == pytest.approx(1 / 3)
    # An A/B at p = 0.23 rests on a lift that is mostly noise: dividing by it would rank the designs by chance.
    assert sensitivity(False, True).ratio is None
    assert sensitivity(True, False).ratio is None
    assert sensitivity(True, True, same_direction=False).ratio is None


def test_undetected_numbers_are_marked() -> None:
    assert _users(4_969.0, detected=True) == "4,969"
    assert _users(4_969.0, detected=False) == "4,969 *"
    assert _users(None, detected=False) == "—"
