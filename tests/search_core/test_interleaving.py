"""Team-draft interleaving: merge invariants (property-based), reproducible coin flips, overlap and short lists."""

from __future__ import annotations

from hashlib import sha256
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_core.errors import InterleavingInputError
from search_core.interleaving import coin_flips, team_draft, team_draft_interleave

# Small alphabets force overlap between the two lists and duplicates inside one.
rankings = st.lists(st.sampled_from("abcdefghijkl"), max_size=12)


def _own(team: str, ranking_a: list[str], ranking_b: list[str]) -> list[str]:
    return ranking_a if team == "A" else ranking_b


@settings(max_examples=300, deadline=None)
@given(ranking_a=rankings, ranking_b=rankings, k=st.integers(0, 30), seed=st.text(max_size=20))
def test_merge_is_a_team_draft_of_the_union(ranking_a, ranking_b, k, seed):
    merged = team_draft_interleave(ranking_a, ranking_b, k, seed)
    ids = [item.image_id for item in merged]
    union = set(ranking_a) | set(ranking_b)
    assert len(ids) == len(set(ids)) == min(k, len(union))
    assert set(ids) <= union
    for position, item in enumerate(merged):
        own = _own(item.team, ranking_a, ranking_b)
        assert own[item.source_rank - 1] == item.image_id
        # the team picked its best result not yet shown: everything it ranks higher is already on the page
        assert set(own[: item.source_rank - 1]) <= set(ids[:position])
    for team in ("A", "B"):
        ranks = [item.source_rank for item in merged if item.team == team]
        assert ranks == sorted(set(ranks)), f"team {team} out of its own order"


@settings(max_examples=200, deadline=None)
@given(ranking_a=rankings, ranking_b=rankings, seed=st.text(max_size=20))
def test_teams_stay_balanced_while_both_have_results(ranking_a, ranking_b, seed):
    """Whichever team has fewer picks goes next, so the counts differ by at most one until a list runs out."""
    merged = team_draft_interleave(ranking_a, ranking_b, 30, seed)
    picks = {"A": 0, "B": 0}
    for position, item in enumerate(merged):
        other = "B" if item.team == "A" else "A"
        if set(_own(other, ranking_a, ranking_b)) - {i.image_id for i in merged[:position]}:
            assert picks[item.team] <= picks[other]
        picks[item.team] += 1


def test_same_request_id_same_list_and_teams():
    ranking_a, ranking_b = [f"a{i}" for i in range(10)], [f"a{i}" for i in range(5, 15)]
    first = team_draft_interleave(ranking_a, ranking_b, 10, "req-7f3a")
    assert team_draft_interleave(list(ranking_a), list(ranking_b), 10, "req-7f3a") == first
    assert team_draft_interleave(ranking_a, ranking_b, 10, b"req-7f3a") == first


def test_different_request_ids_flip_differently():
    ranking = [f"img-{i}" for i in range(10)]
    patterns = {tuple(item.team for item in team_draft_interleave(ranking, ranking, 10, f"req-{i}")) for i in range(64)}
    assert len(patterns) > 16  # 32 possible for 5 rounds
    assert list(islice(coin_flips("req-1"), 64)) != list(islice(coin_flips("req-2"), 64))


def test_coin_flips_are_the_documented_sha256_bits():
    """Scheme v1 is pinned: changing it would re-randomise replays of logged requests."""
    digests = [sha256(f"vsx.team-draft.v1.req-1.{block}".encode()).digest() for block in range(2)]
    expected = [bool(byte >> shift & 1) for digest in digests for byte in digest for shift in range(7, -1, -1)]
    assert list(islice(coin_flips("req-1"), 512)) == expected


def test_golden_merge():
    merged = team_draft_interleave(["x", "y", "z", "u"], ["y", "w", "x", "v"], 6, "req-42")
    assert [(i.image_id, i.team, i.source_rank) for i in merged] == [
        ("y", "B", 1),
        ("x", "A", 1),
        ("z", "A", 3),
        ("w", "B", 2),
        ("v", "B", 4),
        ("u", "A", 4),
    ]


def test_coin_is_fair_over_request_ids():
    heads = sum(next(coin_flips(f"req-{i:05d}")) for i in range(4000))
    assert 0.46 < heads / 4000 < 0.54


def test_identical_rankings_keep_their_order_and_split_every_round():
    ranking = [f"img-{i}" for i in range(9)]
    merged = team_draft_interleave(ranking, ranking, 9, "req-aa")
    assert [item.image_id for item in merged] == ranking
    assert all({merged[r].team, merged[r + 1].team} == {"A", "B"} for r in range(0, 8, 2))


def test_shared_item_is_credited_to_the_team_that_picked_it_first():
    ranking_a, ranking_b = ["x", "y", "z"], ["y", "x", "w"]
    a_first = team_draft(ranking_a, ranking_b, 4, [True, True])
    assert [(i.image_id, i.team, i.source_rank) for i in a_first] == [
        ("x", "A", 1),
        ("y", "B", 1),
        ("z", "A", 3),
        ("w", "B", 3),
    ]
    b_first = team_draft(ranking_a, ranking_b, 4, [False, False])
    assert [(i.image_id, i.team, i.source_rank) for i in b_first] == [
        ("y", "B", 1),
        ("x", "A", 1),
        ("w", "B", 3),
        ("z", "A", 3),
    ]


def test_shorter_ranking_lets_the_other_fill_the_page():
    merged = team_draft(["a1"], ["b1", "b2", "b3", "b4"], 4, [True])
    assert [(i.image_id, i.team, i.source_rank) for i in merged] == [
        ("a1", "A", 1),
        ("b1", "B", 1),
        ("b2", "B", 2),
        ("b3", "B", 3),
    ]
    only_b = team_draft_interleave([], ["b1", "b2"], 5, "req")
    assert [(i.image_id, i.team) for i in only_b] == [("b1", "B"), ("b2", "B")]
    assert team_draft_interleave([], [], 5, "req") == []


def test_ranker_returning_only_the_others_results():
    """B returns a subset of A: B's picks skip what A already showed, and the page still holds the union."""
    merged = team_draft(["a", "b", "c", "d"], ["b", "a"], 10, [True, True])
    assert [(i.image_id, i.team, i.source_rank) for i in merged] == [
        ("a", "A", 1),
        ("b", "B", 1),
        ("c", "A", 3),
        ("d", "A", 4),
    ]


def test_duplicates_inside_one_ranking_are_shown_once():
    merged = team_draft(["x", "x", "y"], ["z"], 5, [True])
    assert [(i.image_id, i.team, i.source_rank) for i in merged] == [("x", "A", 1), ("z", "B", 1), ("y", "A", 3)]


def test_k_larger_than_union_and_k_zero():
    ranking_a, ranking_b = ["a", "b", "c"], ["c", "d"]
    merged = team_draft_interleave(ranking_a, ranking_b, 100, "req")
    assert sorted(i.image_id for i in merged) == ["a", "b", "c", "d"]
    assert team_draft_interleave(ranking_a, ranking_b, 0, "req") == []


@pytest.mark.parametrize("k", [-1, 2.0, True, "3"])
def test_bad_k_is_refused(k):
    with pytest.raises(InterleavingInputError, match="k must be"):
        team_draft_interleave(["a"], ["b"], k, "req")


def test_bad_seed_is_refused_even_when_no_coin_is_needed():
    with pytest.raises(InterleavingInputError, match="seed must be str or bytes"):
        team_draft_interleave([], [], 3, 12345)
