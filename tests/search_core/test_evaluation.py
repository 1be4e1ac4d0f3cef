"""Offline evaluation on real small artifacts, cross-checked through the TREC files against pytrec_eval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytrec_eval

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog
from search_core.encoders import load_encoder
from search_core.evaluation import EVAL_METRICS, evaluate, judgements, metrics_of, retrieve, write_trec_files
from search_core.index import load_index
from search_core.trec import evaluate_files, iter_qrels, read_run


@pytest.fixture(scope="module")
def parts(small_store: ArtifactStore, small_catalog: Catalog):
    return load_encoder(small_store, "pixels@1"), load_index(small_store, "pixels-flat@1"), small_catalog


def test_metrics_are_sane_for_raw_pixels(parts) -> None:
    metrics = evaluate(*parts)
    assert set(metrics) == {*EVAL_METRICS, "ann_recall@10"}
    assert metrics["ann_recall@10"] == pytest.approx(1.0)
    assert 0.5 < metrics["precision@10"] <= 1.0  # raw pixels on Fashion-MNIST: ~0.7; chance is 0.1
    assert metrics["mrr@10"] >= metrics["precision@10"] - 0.2
    n_relevant = len(parts[2].gallery_ids) / 10
    assert metrics["recall@10"] <= 10 / (n_relevant - 3)


def test_gallery_queries_do_not_find_or_count_themselves(parts) -> None:
    encoder, index, catalog = parts
    query_ids = catalog.gallery_ids[:15]
    retrieval = retrieve(encoder, index, catalog, query_ids, k=20)
    assert all(q not in {h.image_id for h in hits} for q, hits in zip(query_ids, retrieval.hits, strict=True))
    assert all(len(hits) == 20 for hits in retrieval.hits)
    same_class = [int(np.sum(catalog.labels_for(index.ids) == catalog.label(q))) for q in query_ids]
    np.testing.assert_array_equal(judgements(retrieval, index, catalog).n_relevant, np.array(same_class) - 1)


def test_trec_files_reproduce_the_metrics_and_agree_with_pytrec_eval(parts, tmp_path: Path) -> None:
    encoder, index, catalog = parts
    retrieval = retrieve(encoder, index, catalog, catalog.query_ids)
    ours = metrics_of(retrieval, index, catalog)
    run_path, qrels_path = write_trec_files(retrieval, index, catalog, tmp_path)
    from_files = evaluate_files(qrels_path, run_path, EVAL_METRICS)
    assert {name: from_files[name] for name in EVAL_METRICS} == pytest.approx({n: ours[n] for n in EVAL_METRICS})
    qrels: dict[str, dict[str, int]] = {}
    for query, doc, grade in iter_qrels(qrels_path):
        qrels.setdefault(query, {})[doc] = grade
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"P_10", "ndcg_cut_10", "map_cut_100"}).evaluate(
        read_run(run_path)
    )
    for name, measure in [("precision@10", "P_10"), ("ndcg@10", "ndcg_cut_10"), ("map@100", "map_cut_100")]:
        assert ours[name] == pytest.approx(np.mean([per_query[q][measure] for q in qrels]))


def test_query_params_change_only_what_they_should(small_store: ArtifactStore, small_catalog: Catalog) -> None:
    encoder, index = load_encoder(small_store, "pixels@1"), load_index(small_store, "pixels-hnsw32@1")
    narrow = evaluate(encoder, index, small_catalog, params={"efSearch": 1})
    wide = evaluate(encoder, index, small_catalog, params={"efSearch": 256})
    assert wide["ann_recall@10"] == pytest.approx(1.0)
    assert narrow["ann_recall@10"] <= wide["ann_recall@10"]
