"""Re-ranking steps on a real (Flat) SearchIndex holding hand-placed vectors."""

from __future__ import annotations

import numpy as np
import pytest

from search_core.errors import RerankSpecError, UnknownRerankStepError
from search_core.hits import Hit
from search_core.index import SearchIndex
from search_core.rerank import RERANK_STEPS, build_rerank

# Query along e0. "a*" are near-identical and closest; "b" is a little further but in another direction.
DIM = 4
Q = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
ITEMS = {
    "query": [1.0, 0.0, 0.0, 0.0],
    "a1": [0.95, 0.31, 0.0, 0.0],
    "a2": [0.95, 0.311, 0.0, 0.0],
    "a3": [0.95, 0.312, 0.0, 0.0],
    "b": [0.9, 0.0, 0.43, 0.0],
    "c": [0.5, 0.0, 0.0, 0.86],
}
LABELS = {"query": 0, "a1": 0, "a2": 1, "a3": 1, "b": 2, "c": 2}


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(
        np.array(list(ITEMS.values())),
        list(ITEMS),
        "Flat",
        labels=[LABELS[i] for i in ITEMS],
        class_names=["shirt", "bag", "boot"],
    )


@pytest.fixture(scope="module")
def hits(index: SearchIndex) -> list[Hit]:
    return index.search(Q[None, :], 6)[0]


def ranked(specs: list[dict], hits: list[Hit], index: SearchIndex, **kwargs: object) -> list[str]:
    return [h.image_id for h in build_rerank(specs)(Q, hits, index, **kwargs)]


def test_ann_order_of_the_fixture(hits: list[Hit]) -> None:
    assert [h.image_id for h in hits] == ["query", "a1", "a2", "a3", "b", "c"]


def test_empty_pipeline_returns_the_hits(index: SearchIndex, hits: list[Hit]) -> None:
    assert build_rerank([])(Q, hits, index) == hits


def test_drop_query_by_id_and_by_similarity(index: SearchIndex, hits: list[Hit]) -> None:
    assert ranked([{"name": "drop_query"}], hits, index, query_image_id="query")[0] == "a1"
    assert ranked([{"name": "drop_query"}], hits, index) == [h.image_id for h in hits]
    assert ranked([{"name": "drop_query", "threshold": 0.9999}], hits, index)[0] == "a1"


def test_dedupe_keeps_the_best_ranked_of_near_duplicates(index: SearchIndex, hits: list[Hit]) -> None:
    assert ranked([{"name": "dedupe", "threshold": 0.9999}], hits, index) == ["query", "a1", "b", "c"]
    assert ranked([{"name": "dedupe", "threshold": 1.0}], hits, index) == [h.image_id for h in hits]


def test_mmr_promotes_a_different_direction(index: SearchIndex, hits: list[Hit]) -> None:
    steps = [{"name": "drop_query"}, {"name": "mmr", "lambda": 0.5}]
    assert ranked(steps, hits, index, query_image_id="query")[:2] == ["a1", "b"]
    assert ranked([{"name": "mmr", "lambda": 1.0}], hits, index) == [h.image_id for h in hits]


def test_mmr_diversifies_only_the_first_k(index: SearchIndex, hits: list[Hit]) -> None:
    result = ranked([{"name": "mmr", "lambda": 0.5}], hits[1:], index, k=2)
    assert result == ["a1", "b", "a2", "a3", "c"]


def test_steps_keep_scores(index: SearchIndex, hits: list[Hit]) -> None:
    result = build_rerank([{"name": "mmr", "lambda": 0.3}, {"name": "boost", "values": [2], "weight": 1}])(
        Q, hits, index
    )
    assert {h.image_id: h.score for h in result} == {h.image_id: h.score for h in hits}


def test_filter_on_label_and_class(index: SearchIndex, hits: list[Hit]) -> None:
    assert ranked([{"name": "filter", "values": [1]}], hits, index) == ["a2", "a3"]
    assert ranked([{"name": "filter", "field": "class", "values": ["boot"], "exclude": True}], hits, index) == [
        "query",
        "a1",
        "a2",
        "a3",
    ]


def test_boost_reorders_stably(index: SearchIndex, hits: list[Hit]) -> None:
    assert ranked([{"name": "boost", "field": "class", "values": ["boot"], "weight": 0.5}], hits, index) == [
        "b",
        "c",
        "query",
        "a1",
        "a2",
        "a3",
    ]
    buried = ranked([{"name": "boost", "values": [0], "weight": -1}], hits, index)
    assert buried == ["a2", "a3", "b", "c", "query", "a1"]


def test_metadata_can_come_from_the_caller(index: SearchIndex, hits: list[Hit]) -> None:
    def brand(image_id: str) -> dict[str, str]:
        return {"brand": "acme" if image_id in {"c", "a3"} else "other"}

    assert ranked([{"name": "filter", "field": "brand", "values": ["acme"]}], hits, index, metadata=brand) == [
        "a3",
        "c",
    ]


def test_unknown_step_lists_the_registry() -> None:
    with pytest.raises(UnknownRerankStepError, match=", ".join(sorted(RERANK_STEPS))):
        build_rerank([{"name": "shuffle"}])
    with pytest.raises(UnknownRerankStepError):
        build_rerank([{"threshold": 0.9}])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "dedupe", "treshold": 0.9}, "no parameter treshold; it takes: threshold"),
        ({"name": "mmr", "lamda": 0.5}, "it takes: lambda"),
        ({"name": "dedupe", "threshold": 1.5}, "cosine in"),
        ({"name": "dedupe", "threshold": "high"}, "dedupe"),
        ({"name": "mmr", "lambda": -0.1}, r"\[0, 1\]"),
        ({"name": "filter"}, "non-empty list"),
        ({"name": "boost", "values": "boot"}, "non-empty list"),
    ],
)
def test_bad_step_params_are_rejected(spec: dict, message: str) -> None:
    with pytest.raises(RerankSpecError, match=message):
        build_rerank([spec])


def test_candidates_fetched_are_only_what_the_steps_need() -> None:
    assert build_rerank([]).candidates(10, 100) == 10
    assert build_rerank([{"name": "drop_query"}]).candidates(10, 100) == 11
    assert build_rerank([{"name": "drop_query"}, {"name": "dedupe"}]).candidates(10, 100) == 100
    assert build_rerank([{"name": "drop_query", "threshold": 0.99}]).candidates(10, 100) == 100
