"""Click groups: catalog images that users' satisfied clicks tie together, the labels of a fine-tune.

A click pair (query q, clicked result r) says r looks like what the user searched for with q. One pair
is weak evidence; the click graph (images as nodes, pairs as edges weighted by their summed
inverse-propensity weight) turns many of them into groups: images connected through chains of clicks
look alike. Groups are what supervised-contrastive training needs: every member of a group is a
positive for every other, and nothing in a group is ever a negative for it (a label per pair made
half of a click anchor's negatives same-kind images).

While traffic is small, the graph is a forest of small pieces and its connected components are the
groups. As traffic grows, a few wrong clicks bridge components of different kinds into one giant
component; a component larger than `community_above` images is then split into graph communities
(Louvain, Blondel et al. 2008, networkx's implementation, seeded), which cut those thin bridges, and a community
still larger than that is split the same way.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from search_core.pairs import ClickPair

logger = logging.getLogger(__name__)

COMMUNITY_ABOVE = 1000
"""Components larger than this many images are split into Louvain communities (see the module docstring)."""


@dataclass(frozen=True)
class ClickGroups:
    """Groups of image ids (each of ≥ 2 images, largest first) and where their clicks came from."""

    groups: tuple[tuple[str, ...], ...]
    community_above: int
    split_communities: bool
    """Whether a community larger than `community_above` was split again (see `click_groups`)."""
    split_components: int
    """Components larger than `community_above`, split into communities (0: the groups are the components)."""
    pairs: int
    clicks: int
    lineage: dict[str, dict[str, int]]
    """Per experiment (`"unknown"` for pairs without one): the pairs and clicks it contributed."""

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def images(self) -> int:
        return sum(len(g) for g in self.groups)

    def summary(self) -> dict[str, object]:
        """What the encoder manifest records about its groups (`training.click_groups`)."""
        sizes = sorted((len(g) for g in self.groups), reverse=True)
        return {
            "method": "louvain communities" if self.split_components else "connected components",
            "community_above": self.community_above,
            "split_communities": self.split_communities,
            "groups": len(sizes),
            "images": sum(sizes),
            "largest": sizes[:5],
            "pairs": self.pairs,
            "clicks": self.clicks,
            "experiments": self.lineage,
        }


def click_groups(
    pairs: Sequence[ClickPair], *, community_above: int = COMMUNITY_ABOVE, split_communities: bool = True, seed: int = 0
) -> ClickGroups:
    """Group the images of `pairs` by the click graph (pairs of weight 0 and self-pairs carry no edge).

    With `split_communities` (the default) a community still larger than `community_above` is split again;
    without, Louvain's communities are kept whole, however large.
    """
    weights: dict[tuple[str, str], float] = defaultdict(float)
    lineage: dict[str, Counter[str]] = defaultdict(Counter)
    for p in pairs:
        if p.weight <= 0 or p.query_image_id == p.result_image_id:
            continue
        weights[tuple(sorted((p.query_image_id, p.result_image_id)))] += p.weight  # type: ignore[index]
        source = lineage[p.experiment or "unknown"]
        source["pairs"] += 1
        source["clicks"] += p.clicks
    # Louvain's result depends on the order it meets nodes, which follows the graph's insertion order and the
    # iteration order of its sets. Nodes are the sorted images' indexes, inserted in sorted order: integers hash to
    # themselves, so the groups are a function of the pair set, not of the export's row order or the process's
    # string-hash seed.
    images = sorted({image for edge in weights for image in edge})
    index = {image: i for i, image in enumerate(images)}
    graph = nx.Graph()
    graph.add_nodes_from(range(len(images)))
    graph.add_weighted_edges_from((index[a], index[b], w) for (a, b), w in sorted(weights.items()))
    groups: list[tuple[str, ...]] = []
    split = 0
    for component in nx.connected_components(graph):
        if len(component) > community_above:
            split += 1
            parts = _communities(graph.subgraph(component), community_above if split_communities else None, seed)
        else:
            parts = [component]
        groups.extend(tuple(sorted(images[i] for i in part)) for part in parts if len(part) >= 2)
    groups.sort(key=lambda g: (-len(g), g))
    result = ClickGroups(
        groups=tuple(groups),
        community_above=community_above,
        split_communities=split_communities,
        split_components=split,
        pairs=sum(s["pairs"] for s in lineage.values()),
        clicks=sum(s["clicks"] for s in lineage.values()),
        lineage={name: dict(counts) for name, counts in sorted(lineage.items())},
    )
    logger.info(
        "click groups: %d groups over %d images from %d pairs (%d components split into communities)",
        len(result), result.images, result.pairs, split,
    )  # fmt: skip
    return result


def _communities(graph: nx.Graph, community_above: int | None, seed: int) -> list[set[int]]:
    """Louvain communities of `graph`, each larger than `community_above` (if given) split again the same way.

    Once clicks are dense, Louvain's communities grow to whole kinds that look alike (shirts with pullovers), and
    such groups teach less than their parts: a group is a claim that all its members look alike. A part Louvain
    cannot split further is kept whole.
    """
    done: list[set[int]] = []
    todo = [set(graph)]
    while todo:
        part = todo.pop()
        pieces = nx.community.louvain_communities(graph.subgraph(part), weight="weight", seed=seed)
        if len(pieces) == 1:
            done.append(part)
            continue
        for piece in pieces:
            (todo if community_above is not None and len(piece) > community_above else done).append(piece)
    return done
