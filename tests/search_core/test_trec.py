"""TREC qrels/run files: round trips, format errors, and `evaluate_files` against pytrec_eval on the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytrec_eval

from search_core.errors import TrecFormatError
from search_core.trec import TREC_METRICS, evaluate_files, iter_qrels, read_run, write_qrels, write_run

QRELS = [("q1", "a", 1), ("q1", "b", 2), ("q1", "c", 0), ("q2", "x", 0), ("q3", "z", 1)]
GROUPS = [(query, [doc], grade) for query, doc, grade in QRELS]
RANKED = {"q1": [("d", 2.0), ("c", 1.0), ("b", 1.0), ("a", 0.5)], "q2": [("x", 1.0)], "q4": [("a", 1.0)]}


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz"])
def test_write_then_read_round_trips(tmp_path: Path, suffix: str) -> None:
    write_qrels(tmp_path / f"qrels{suffix}", GROUPS)
    write_run(tmp_path / f"run{suffix}", RANKED)
    assert list(iter_qrels(tmp_path / f"qrels{suffix}")) == QRELS
    assert read_run(tmp_path / f"run{suffix}") == {q: dict(docs) for q, docs in RANKED.items()}


def test_float32_scores_round_trip_exactly(tmp_path: Path) -> None:
    """Regression: 6-decimal scores turned near-equal float32 scores into ties that trec_eval re-ordered."""
    scores = np.float32([0.912345671, 0.912345612]).tolist()
    write_run(tmp_path / "run.txt", {"q": [("a", scores[0]), ("b", scores[1])]})
    assert np.float32(list(read_run(tmp_path / "run.txt")["q"].values())).tolist() == scores


def test_evaluate_files_matches_pytrec_eval_with_missing_queries_as_zero(tmp_path: Path) -> None:
    write_qrels(tmp_path / "qrels.txt", GROUPS)
    write_run(tmp_path / "run.txt", RANKED)
    ours = evaluate_files(tmp_path / "qrels.txt", tmp_path / "run.txt")
    assert set(TREC_METRICS) <= set(ours)
    qrels = {q: {d: g for q2, d, g in QRELS if q2 == q} for q, _, _ in QRELS}
    run = {q: dict(docs) for q, docs in RANKED.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"P_10", "recall_10", "map_cut_10", "ndcg_cut_10"})
    per_query = evaluator.evaluate(run)
    for ours_name, measure in [("precision@10", "P_10"), ("recall@10", "recall_10"), ("ndcg@10", "ndcg_cut_10")]:
        expected = sum(per_query.get(q, {}).get(measure, 0.0) for q in qrels) / len(qrels)
        assert ours[ours_name] == pytest.approx(expected)
    assert ours["queries"] == 3


@pytest.mark.parametrize(
    ("qrels_text", "run_text", "message"),
    [
        ("q1 0 a\n", "q1 Q0 a 1 1.0 t\n", "expected 4 columns"),
        ("q1 0 a x\n", "q1 Q0 a 1 1.0 t\n", "not an integer"),
        ("q1 0 a 1\n", "q1 Q0 a 1 high t\n", "not a number"),
        ("q1 0 a 1\n", "q1 Q0 a 1 1.0 t\nq1 Q0 a 2 0.5 t\n", "listed twice"),
        # regression: NaN and infinite scores were accepted, and NaN has no place in a ranking
        ("q1 0 a 1\n", "q1 Q0 a 1 nan t\n", "run.txt:1: score 'nan' is not a finite number"),
        ("q1 0 a 1\n", "q1 Q0 b 1 1.0 t\nq1 Q0 a 2 -inf t\n", "run.txt:2: score '-inf' is not a finite number"),
        ("q1 0 a 1\n", "q1 Q0 a 1 1e999 t\n", "score '1e999' is not a finite number"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, qrels_text: str, run_text: str, message: str) -> None:
    (tmp_path / "qrels.txt").write_text(qrels_text)
    (tmp_path / "run.txt").write_text(run_text)
    with pytest.raises(TrecFormatError, match=message):
        evaluate_files(tmp_path / "qrels.txt", tmp_path / "run.txt")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(TrecFormatError, match="cannot read"):
        read_run(tmp_path / "absent.txt")


@pytest.mark.parametrize("cut", [10, -8])
def test_truncated_gzip_is_a_format_error(tmp_path: Path, cut: int) -> None:
    """Regression: a truncated `.gz` raised EOFError, which the command line's Click turned into a bare "Aborted!"."""
    path = tmp_path / "qrels.txt.gz"
    write_qrels(path, [("q1", [f"d{i}" for i in range(2_000)], 1)])
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(TrecFormatError, match="cannot read .*qrels.txt.gz"):
        list(iter_qrels(path))
