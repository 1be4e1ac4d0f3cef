"""Search results: `Hit` (one image id and its score) and `Hits` (one query's results, best first).

`SearchIndex.search` returns a `Hits` per query: the ids and scores as two plain lists, exactly what the
Faiss call produced once rows are mapped to ids. A `Hit` tuple is made only when someone iterates or
indexes it, because on a single query through a large IVF index building them right after the scan is a
visible part of the project path's overhead over bare Faiss (BENCHMARKS.md, "ANN indexes");
code that only needs ids and scores reads `ids` and `scores` (re-ranking and serving still iterate `Hit`s).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, overload


class Hit(NamedTuple):
    """One result: catalog image id and its score (cosine similarity to the query; higher is closer)."""

    image_id: str
    score: float


class Hits(Sequence[Hit]):
    """One query's results as parallel `ids` and `scores` lists; a read-only sequence of `Hit`s.

    Equal to any list or tuple of the same `Hit`s, so it can stand wherever a list of hits did.
    """

    __slots__ = ("ids", "scores")

    def __init__(self, ids: list[str], scores: list[float]) -> None:
        self.ids = ids
        self.scores = scores

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Hit]:
        return map(Hit._make, zip(self.ids, self.scores, strict=True))

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> Hits: ...
    def __getitem__(self, index: int | slice) -> Hit | Hits:
        if isinstance(index, slice):
            return Hits(self.ids[index], self.scores[index])
        return Hit(self.ids[index], self.scores[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hits):
            return self.ids == other.ids and self.scores == other.scores
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable lists inside, like a list

    def __repr__(self) -> str:
        return f"Hits({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the two lists (serving sends deferred events to its event process): no `Hit` per result."""
        return Hits, (self.ids, self.scores)
