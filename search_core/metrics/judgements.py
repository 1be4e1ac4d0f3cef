"""`Judgements`: each query's ranked list turned into relevance grades — the one input every metric takes.

Conventions are trec_eval's: a run is ranked by score descending, ties broken by document id descending
(the rank column of a run file is ignored); a document is relevant when its grade is >= 1; every query in
the qrels counts, a query missing from the run scores 0 (trec_eval `-c`); run-only queries are ignored.

Only the top `depth` ranks are kept, and of the qrels only what the metrics need (count of relevant, the
best `depth` grades for the ideal DCG), so qrels with thousands of relevant documents per query stream
through in constant memory per query.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Judgements:
    """Arrays over (queries, ranks); a rank past the end of a short run has grade 0.

    grades:     (n_queries, depth) grade of the document at each rank (0 if unjudged)
    n_relevant: (n_queries,) judged documents with grade >= 1 (recall and AP denominators)
    ideal:      (n_queries, depth) the qrels' positive grades sorted descending (ideal DCG)
    """

    query_ids: tuple[str, ...]
    grades: np.ndarray
    n_relevant: np.ndarray
    ideal: np.ndarray

    @property
    def depth(self) -> int:
        return self.grades.shape[1]

    def relevant(self, k: int | None) -> np.ndarray:
        """(n_queries, k) booleans: is the document at rank i relevant; k=None means the whole depth."""
        return _cut(self.grades, k) >= 1

    def gains(self, k: int | None) -> np.ndarray:
        """(n_queries, k) linear gains (grade, negative grades count 0), as trec_eval's ndcg_cut uses them."""
        return np.maximum(_cut(self.grades, k), 0.0)

    def ideal_gains(self, k: int | None) -> np.ndarray:
        return _cut(self.ideal, k)

    @classmethod
    def binary(cls, query_ids: Sequence[str], relevant: np.ndarray, n_relevant: np.ndarray) -> Judgements:
        """From a (n_queries, depth) relevance mask and relevant counts, e.g. 'same class as the query'."""
        depth = relevant.shape[1]
        ideal = (np.arange(depth)[None, :] < np.asarray(n_relevant)[:, None]).astype(np.float64)
        return cls(tuple(query_ids), relevant.astype(np.float64), np.asarray(n_relevant, dtype=np.int64), ideal)


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """Document ids by score descending, ties by id descending (trec_eval's order)."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def judge(qrels: Iterable[tuple[str, str, float]], ranked: Mapping[str, Sequence[str]], depth: int) -> Judgements:
    """Grade each ranked list (`query -> doc ids, best first`) against qrels rows `(query, doc, grade)`.

    Queries are those of the qrels, sorted; `qrels` is read once, so it may be a file streamed line by line.
    """
    positions = {q: {doc: i for i, doc in enumerate(docs[:depth])} for q, docs in ranked.items()}
    grades: dict[str, np.ndarray] = {}
    n_relevant: dict[str, int] = {}
    best: dict[str, list[float]] = {}  # min-heap of the `depth` highest positive grades
    for query, doc, grade in qrels:
        if query not in grades:
            grades[query], n_relevant[query], best[query] = np.zeros(depth), 0, []
        n_relevant[query] += grade >= 1
        if grade > 0 and len(best[query]) < depth:
            heapq.heappush(best[query], grade)
        elif grade > 0:
            heapq.heappushpop(best[query], grade)
        position = positions.get(query, {}).get(doc)
        if position is not None:
            grades[query][position] = grade
    query_ids = sorted(grades)
    ideal = np.zeros((len(query_ids), depth))
    for row, query in enumerate(query_ids):
        top = sorted(best[query], reverse=True)
        ideal[row, : len(top)] = top
    return Judgements(
        tuple(query_ids),
        np.array([grades[q] for q in query_ids]).reshape(len(query_ids), depth),
        np.array([n_relevant[q] for q in query_ids], dtype=np.int64),
        ideal,
    )


def _cut(matrix: np.ndarray, k: int | None) -> np.ndarray:
    """The first k columns; columns past the judged depth are 0 (nothing was retrieved there)."""
    if k is None or k == matrix.shape[1]:
        return matrix
    if k < matrix.shape[1]:
        return matrix[:, :k]
    return np.pad(matrix, ((0, 0), (0, k - matrix.shape[1])))
