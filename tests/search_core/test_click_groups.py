"""Click groups: components of the click graph, communities once a component is large, lineage."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

from search_core.pairs import ClickPair
from search_core.training import click_groups


def test_groups_are_connected_components_with_lineage() -> None:
    pairs = [
        ClickPair("a", "b", 2.0, "exp1", 3),
        ClickPair("b", "c", 1.0, "exp2", 1),
        ClickPair("d", "e", 1.0, "exp1", 2),
        ClickPair("f", "f", 5.0, "exp1", 1),  # a self-pair carries no edge
        ClickPair("g", "h", 0.0, "exp2", 1),  # nor does a pair of weight 0
        ClickPair("x", "y", 1.0),  # no experiment recorded
    ]
    groups = click_groups(pairs)
    assert groups.groups == (("a", "b", "c"), ("d", "e"), ("x", "y"))
    assert (groups.images, groups.pairs, groups.clicks, groups.split_components) == (7, 4, 7, 0)
    assert groups.lineage == {"exp1": {"pairs": 2, "clicks": 5}, "exp2": {"pairs": 1, "clicks": 1},
                              "unknown": {"pairs": 1, "clicks": 1}}  # fmt: skip
    summary = groups.summary()
    assert summary["method"] == "connected components" and summary["largest"] == [3, 2, 2]


def _clique(prefix: str, n: int) -> list[ClickPair]:
    return [ClickPair(f"{prefix}{i}", f"{prefix}{j}", 1.0, "e") for i, j in itertools.combinations(range(n), 2)]


def test_a_large_component_is_split_at_its_thin_bridge() -> None:
    """Two dense kinds joined by one wrong click: one component, two communities."""
    pairs = _clique("shoe", 12) + _clique("bag", 12) + [ClickPair("shoe0", "bag0", 1.0, "e")]
    assert len(click_groups(pairs)) == 1  # small: the component is the group
    split = click_groups(pairs, community_above=20)
    assert split.split_components == 1 and split.summary()["method"] == "louvain communities"
    assert split.summary()["community_above"] == 20
    assert {frozenset(g) for g in split.groups} == {frozenset(f"shoe{i}" for i in range(12)),
                                                    frozenset(f"bag{i}" for i in range(12))}  # fmt: skip
    assert split.groups == click_groups(pairs, community_above=20).groups  # seeded: the same split every run


def test_a_large_community_is_split_again_unless_it_cannot_be() -> None:
    """Dense clicks make communities of whole look-alike kinds; past `community_above` they are split again."""
    groups = click_groups(noisy_kinds(0), community_above=20)
    assert groups.images > 400 and max(len(g) for g in groups.groups) <= 20
    assert groups.summary()["split_communities"] is True
    whole = click_groups(noisy_kinds(0), community_above=20, split_communities=False)  # the earlier grouping
    assert max(len(g) for g in whole.groups) > 20 and whole.summary()["split_communities"] is False
    clique = _clique("shoe", 30) + _clique("bag", 12) + [ClickPair("shoe0", "bag0", 1.0, "e")]
    assert sorted(len(g) for g in click_groups(clique, community_above=20).groups) == [12, 30]  # nothing to cut


def test_no_usable_pairs_is_no_groups() -> None:
    assert len(click_groups([ClickPair("a", "a"), ClickPair("b", "c", 0.0)])) == 0


def noisy_kinds(seed: int) -> list[ClickPair]:
    """Three separate catalogs of six kinds × 30 images, 60 clicks a kind, one click in ten on another kind of the
    same catalog: components to split with ties for Louvain to break, none of them half the graph."""
    rng = random.Random(seed)

    def image(catalog: str, kind: int) -> str:
        return f"{catalog}{kind if rng.random() < 0.9 else rng.randrange(6)}-{rng.randrange(30)}"

    return [ClickPair(f"{c}{k}-{rng.randrange(30)}", image(c, k), rng.uniform(0.5, 3.0), "e") for c in "xyz"
            for k in range(6) for _ in range(60)]  # fmt: skip


def test_groups_do_not_depend_on_the_order_of_the_pairs() -> None:
    """The pair export's row order varies between runs; the groups (and so the fine-tune) must not."""
    pairs = noisy_kinds(0)
    shuffled = random.Random(1).sample(pairs, len(pairs))
    assert click_groups(shuffled, community_above=20).groups == click_groups(pairs, community_above=20).groups


def test_groups_do_not_depend_on_the_string_hash_seed() -> None:
    """Each `vsx demo` or `vsx train` is a new process with its own string-hash seed; the groups must not vary."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from test_click_groups import click_groups, noisy_kinds; "
        "print(click_groups(noisy_kinds(0), community_above=20).groups)"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent)], capture_output=True, text=True,
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }  # fmt: skip
    assert len(outputs) == 1 and outputs.pop().startswith("((")
