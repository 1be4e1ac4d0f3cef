"""IR metrics against hand-computed values and against pytrec_eval (trec_eval's C code) and ranx."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from search_core.errors import UnknownMetricError
from search_core.metrics import Judgements, judge, mean_metrics, parse_metric, rank_documents, required_depth

# trec_eval measure for each of ours at k=10 (MRR@10 = recip_rank of the run cut at 10 ranks).
TREC_EQUIVALENT = {
    "precision@10": "P_10",
    "recall@10": "recall_10",
    "map@10": "map_cut_10",
    "map@100": "map_cut_100",
    "ndcg@10": "ndcg_cut_10",
    "hit@10": "success_10",
    "mrr@10": "recip_rank",
}


def _judged(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], depth: int = 100) -> Judgements:
    rows = ((q, d, g) for q, docs in qrels.items() for d, g in docs.items())
    return judge(rows, {q: rank_documents(scores) for q, scores in run.items()}, depth)


def _per_query(qrels: dict, run: dict, name: str) -> dict[str, float]:
    metric, k = parse_metric(name)
    judgements = _judged(qrels, run)
    return dict(zip(judgements.query_ids, metric(judgements, k).tolist(), strict=True))


def _trec_eval(qrels: dict, run: dict, measure: str) -> dict[str, float]:
    """pytrec_eval per query, with `-c` semantics: qrels queries missing from the run score 0."""
    if measure == "recip_rank":  # cut the run at 10 ranks, in trec_eval order, for MRR@10
        run = {q: {d: scores[d] for d in rank_documents(scores)[:10]} for q, scores in run.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {measure})
    scored = evaluator.evaluate(run)
    return {q: scored.get(q, {}).get(measure, 0.0) for q in qrels}


EDGE_QRELS = {
    "q1": {"a": 1, "b": 2, "c": 0},  # graded, one judged non-relevant
    "q2": {"x": 0},  # no relevant document: every metric 0
    "q3": {"z": 1},  # missing from the run: 0 (trec_eval -c)
}
EDGE_RUN = {
    "q1": {"c": 1.0, "b": 1.0, "a": 0.5, "d": 2.0},  # tie c/b broken by doc id descending: c before b
    "q2": {"x": 1.0},
    "q4": {"a": 1.0},  # run-only query: ignored
}


def test_trec_order_breaks_ties_by_doc_id_descending() -> None:
    assert rank_documents({"c": 1.0, "b": 1.0, "a": 0.5, "d": 2.0}) == ["d", "c", "b", "a"]


def test_edge_cases_match_hand_computed_values() -> None:
    means = mean_metrics(_judged(EDGE_QRELS, EDGE_RUN), list(TREC_EQUIVALENT))
    # q1 ranks d, c, b(2), a(1): relevant at ranks 3 and 4; R = 2. q2 and q3 contribute 0; mean over 3 queries.
    dcg = 2 / np.log2(4) + 1 / np.log2(5)
    ideal = 2 / np.log2(2) + 1 / np.log2(3)
    expected = {
        "precision@10": 0.2 / 3,
        "recall@10": 1.0 / 3,
        "map@10": (1 / 3 + 2 / 4) / 2 / 3,
        "map@100": (1 / 3 + 2 / 4) / 2 / 3,
        "ndcg@10": dcg / ideal / 3,
        "hit@10": 1 / 3,
        "mrr@10": 1 / 3 / 3,
    }
    assert means == pytest.approx(expected, abs=1e-12)
    assert round(means["ndcg@10"], 5) == 0.18126


@pytest.mark.parametrize("name", sorted(TREC_EQUIVALENT))
def test_edge_cases_match_pytrec_eval(name: str) -> None:
    ours = _per_query(EDGE_QRELS, EDGE_RUN, name)
    assert ours == pytest.approx(_trec_eval(EDGE_QRELS, EDGE_RUN, TREC_EQUIVALENT[name]), abs=1e-9)


def _random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Graded qrels, runs with many score ties, runs shorter than k, queries missing on either side."""
    rng = np.random.default_rng(seed)
    docs = [f"d{i:03d}" for i in range(150)]
    qrels, run = {}, {}
    for q in range(40):
        judged = rng.choice(docs, size=int(rng.integers(1, 60)), replace=False)
        qrels[f"q{q}"] = {d: int(g) for d, g in zip(judged, rng.integers(0, 4, len(judged)), strict=True)}
        if q % 7 != 3:  # some qrels queries have no run at all
            retrieved = rng.choice(docs, size=int(rng.integers(0, 120)), replace=False)
            run[f"q{q}"] = {d: float(s) for d, s in zip(retrieved, rng.integers(0, 8, len(retrieved)), strict=True)}
    run["only-in-run"] = {"d001": 1.0}
    return qrels, run


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(TREC_EQUIVALENT))
def test_random_runs_match_pytrec_eval(seed: int, name: str) -> None:
    qrels, run = _random_case(seed)
    ours = _per_query(qrels, run, name)
    assert ours == pytest.approx(_trec_eval(qrels, run, TREC_EQUIVALENT[name]), abs=1e-9)


@pytest.mark.slow
def test_random_runs_match_ranx() -> None:
    """ranx (numba, ~30 s to compile once). Its sort is unstable on ties, so scores here are distinct."""
    from ranx import Qrels, Run, evaluate

    qrels, run = _random_case(5)
    run = {q: {d: s + 1e-6 * i for i, (d, s) in enumerate(scores.items())} for q, scores in run.items()}
    run = {q: scores for q, scores in run.items() if q in qrels and scores}
    names = ["precision@10", "recall@10", "map@100", "ndcg@10", "mrr@10", "hit@10"]
    ranx_names = ["precision@10", "recall@10", "map@100", "ndcg@10", "mrr@10", "hit_rate@10"]
    theirs = evaluate(Qrels(qrels), Run(run), ranx_names, make_comparable=True)
    ours = mean_metrics(_judged(qrels, run), names)
    assert [ours[n] for n in names] == pytest.approx([theirs[n] for n in ranx_names], abs=1e-9)


def test_binary_judgements_ideal_is_capped_by_relevant_count() -> None:
    relevant = np.array([[True, False, True], [False, False, False]])
    judgements = Judgements.binary(["a", "b"], relevant, np.array([2, 0]))
    np.testing.assert_array_equal(judgements.ideal, [[1, 1, 0], [0, 0, 0]])
    assert mean_metrics(judgements, ["ndcg@3", "recall@3"]) == pytest.approx(
        {"ndcg@3": (1 + 1 / 2) / (1 + 1 / np.log2(3)) / 2, "recall@3": 0.5}
    )


def test_cutoff_beyond_depth_counts_nothing_retrieved_there() -> None:
    judgements = Judgements.binary(["a"], np.array([[True, True]]), np.array([4]))
    assert mean_metrics(judgements, ["precision@4", "recall@4"]) == {"precision@4": 0.5, "recall@4": 0.5}


def test_empty_judgements_give_zero_means() -> None:
    assert mean_metrics(judge([], {}, 10), ["ndcg@10"]) == {"ndcg@10": 0.0}


@pytest.mark.parametrize("bad", ["foo@10", "ndcg@0", "ndcg@x", "@10"])
def test_unknown_metric_names_are_rejected(bad: str) -> None:
    with pytest.raises(UnknownMetricError):
        parse_metric(bad)


def test_required_depth_is_the_deepest_cutoff() -> None:
    assert required_depth(["ndcg@10", "map@100"]) == 100
    assert required_depth(["ndcg@10", "map"]) is None
