"""TREC qrels and run files: read, write, and evaluate like `trec_eval -c`.

qrels: `query iteration doc grade` (iteration ignored). run: `query Q0 doc rank score tag` (rank ignored:
the order is score descending, ties by doc id descending). Files ending in `.gz` are read and written
gzip-compressed at level 1 (much faster than the default for a slightly larger file) — same-class qrels
hold 6000 lines per Fashion-MNIST query.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, cast

from search_core.errors import TrecFormatError
from search_core.metrics import judge, mean_metrics, rank_documents, required_depth

TREC_METRICS: tuple[str, ...] = ("mrr@10", "precision@10", "recall@10", "map@10", "ndcg@10", "map@100", "hit@10")
"""What `vsx eval-trec` reports by default."""


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8", compresslevel=1))
    return path.open(mode, encoding="utf-8")


def _fields(path: Path, columns: int) -> Iterator[tuple[int, list[str]]]:
    try:
        with _open(path, "r") as lines:
            for number, line in enumerate(lines, 1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != columns:
                    raise TrecFormatError(f"{path}:{number}: expected {columns} columns, got {len(fields)}")
                yield number, fields
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:  # EOFError: a truncated .gz
        raise TrecFormatError(f"cannot read {path}: {exc}") from None


def iter_qrels(path: Path) -> Iterator[tuple[str, str, int]]:
    """`(query, doc, grade)` rows, streamed (qrels may be far larger than the run)."""
    for number, (query, _, doc, grade) in _fields(path, 4):
        try:
            yield query, doc, int(grade)
        except ValueError:
            raise TrecFormatError(f"{path}:{number}: relevance grade {grade!r} is not an integer") from None


def read_run(path: Path) -> dict[str, dict[str, float]]:
    """`query -> {doc: score}`; a document listed twice for one query is an error (as in trec_eval)."""
    run: dict[str, dict[str, float]] = {}
    for number, (query, _, doc, _, score, _) in _fields(path, 6):
        scores = run.setdefault(query, {})
        if doc in scores:
            raise TrecFormatError(f"{path}:{number}: document {doc} listed twice for query {query}")
        try:
            value = float(score)
        except ValueError:
            raise TrecFormatError(f"{path}:{number}: score {score!r} is not a number") from None
        if not math.isfinite(value):  # NaN has no rank: sorting by it would order the run arbitrarily
            raise TrecFormatError(f"{path}:{number}: score {score!r} is not a finite number")
        scores[doc] = value
    return run


def write_run(path: Path, ranked: Mapping[str, Sequence[tuple[str, float]]], tag: str = "vsx") -> None:
    """One line per (query, doc) with rank and score; scores with 9 significant digits round-trip float32."""
    with _open(path, "w") as out:
        for query, docs in ranked.items():
            for rank, (doc, score) in enumerate(docs, 1):
                out.write(f"{query} Q0 {doc} {rank} {score:.9g} {tag}\n")


def write_qrels(path: Path, groups: Iterable[tuple[str, Sequence[str], int]]) -> None:
    """Lines `query 0 doc grade` from `(query, docs, grade)` groups; one join per group, as a group can hold
    thousands of documents (same-class relevance) and a formatted string per line would triple the time."""
    with _open(path, "w") as out:
        for query, docs, grade in groups:
            out.write(query.join(["", *(f" 0 {doc} {grade}\n" for doc in docs)]))


def evaluate_files(qrels_path: Path, run_path: Path, metrics: Sequence[str] = TREC_METRICS) -> dict[str, float]:
    """Mean metrics over every qrels query (missing from the run: 0), plus `queries`, their count."""
    ranked = {query: rank_documents(scores) for query, scores in read_run(run_path).items()}
    depth = required_depth(metrics) or max((len(docs) for docs in ranked.values()), default=1)
    judgements = judge(iter_qrels(qrels_path), ranked, depth)
    return {**mean_metrics(judgements, metrics), "queries": float(len(judgements.query_ids))}
