"""Query-time parameters of a Faiss index, as per-call `SearchParameters` objects.

Faiss lets a search carry its own parameters (`index.search(x, k, params=...)`) instead of reading
`index.nprobe` / `index.hnsw.efSearch`: setting those attributes would leak one request's settings into
every concurrent request, so `SearchIndex` never mutates a loaded index. The parameter object mirrors the
index's nesting (`PCA32,IVF256,PQ16,RFlat` is PreTransform → Refine → IVF), and every field a request does
not set is copied from the index, because a fresh `SearchParametersIVF()` would otherwise mean `nprobe=1`.

The same tree carries the tombstone selector (`IDSelector`) of removed items down to the level that filters
(IVF lists, HNSW graph, flat codes). `IndexRefine` ignores a selector given at its own level, so it goes to
the base index. Index types that take no selector (e.g. `PQ16`, `LSH`) report it, and the caller over-fetches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import faiss
import numpy as np

from search_core.errors import InvalidSearchParamsError

FAISS_PARAMS: dict[str, type] = {"efSearch": int, "nprobe": int, "k_factor": float}
"""Query-time Faiss parameters: HNSW beam width, IVF lists probed, refine over-fetch factor (`...,RFlat`)."""
PARAMS_CACHE_SIZE = 64
PARAM_MAX = 16_384
"""The largest value of any query parameter: Faiss sizes per-query buffers by them (`efSearch`, `k_factor`·k
candidates) and holds them in C ints, so a bigger value only costs memory (or overflows); `nprobe` up to it
still probes every list of an `IVF16384` index."""


class SearchPlan(NamedTuple):
    """What `SearchIndex.search` needs besides the queries, built once per (k, parameters)."""

    faiss_params: Any  # faiss.SearchParameters or None
    fetch: int  # results asked of Faiss per query
    direct: bool  # Faiss's results are final (no tombstones to filter here, no exact re-scoring)
    exact: bool  # re-score the fetched candidates with the stored vectors (`refine` > 1)


@dataclass(frozen=True)
class Tombstones:
    """An immutable snapshot of removed rows, their Faiss selector, and the parameters built for them.

    A removal swaps in a new snapshot; a search reads one snapshot from start to end, so the parameters
    cached here (read-only once built) can be shared by concurrent searches.
    """

    rows: frozenset[int] = frozenset()
    selector: faiss.IDSelector | None = None
    batch: faiss.IDSelectorBatch | None = None  # kept alive: `selector` points into it
    params_cache: dict[tuple[Any, ...], SearchPlan] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: frozenset[int]) -> Tombstones:
        if not rows:
            return cls()
        batch = faiss.IDSelectorBatch(np.fromiter(sorted(rows), dtype=np.int64, count=len(rows)))
        return cls(rows, faiss.IDSelectorNot(batch), batch)


@dataclass
class _Walk:
    """What a walk over the index tree used: parameter names consumed, whether the selector found a home."""

    params: Mapping[str, Any]
    selector: faiss.IDSelector | None
    used: set[str] = field(default_factory=set)
    filtered: bool = False

    def take(self, name: str, default: Any) -> Any:
        if name in self.params:
            self.used.add(name)
            return self.params[name]
        return default


def check_param_values(params: Mapping[str, Any], extra: Mapping[str, type]) -> None:
    """Names must be known and values numbers of the right kind in [1, PARAM_MAX] (bools, NaN and infinities are
    not), checked before any value reaches `int()` or Faiss."""
    known = {**FAISS_PARAMS, **extra}
    for name, value in params.items():
        kind = known.get(name)
        if kind is None:
            raise InvalidSearchParamsError(f"unknown query parameter {name!r}; known: {', '.join(sorted(known))}")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or not 1 <= value <= PARAM_MAX or (kind is int and value != int(value)):
            raise InvalidSearchParamsError(
                f"query parameter {name}={value!r} must be a {kind.__name__} >= 1 and <= {PARAM_MAX}"
            )


def search_parameters(
    index: faiss.Index, params: Mapping[str, Any], selector: faiss.IDSelector | None
) -> tuple[faiss.SearchParameters | None, bool]:
    """Per-call parameters for `index` (None when nothing differs), and whether Faiss applies `selector`.

    Raises `InvalidSearchParamsError` naming any parameter this index type does not have.
    """
    walk = _Walk(params, selector)
    built = _build(index, walk)
    unused = sorted(set(params) - walk.used)
    if unused:
        raise InvalidSearchParamsError(f"index type {type(index).__name__} has no query parameter {', '.join(unused)}")
    return built, walk.filtered or selector is None


def _build(index: faiss.Index, walk: _Walk) -> faiss.SearchParameters | None:
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexPreTransform):
        inner = _build(index.index, walk)
        return faiss.SearchParametersPreTransform(index_params=inner) if inner is not None else None
    if isinstance(index, faiss.IndexRefine):
        base = _build(index.base_index, walk)
        k_factor = walk.take("k_factor", index.k_factor)
        if base is None and "k_factor" not in walk.used:
            return None
        refine = faiss.IndexRefineSearchParameters(k_factor=float(k_factor))
        if base is not None:
            refine.base_index_params = base
        return refine
    if isinstance(index, faiss.IndexHNSW):
        if "efSearch" not in walk.params and walk.selector is None:
            return None
        walk.filtered = walk.selector is not None
        return faiss.SearchParametersHNSW(efSearch=int(walk.take("efSearch", index.hnsw.efSearch)), sel=walk.selector)
    if isinstance(index, faiss.IndexIVF):
        return _ivf(index, walk)
    if isinstance(index, faiss.IndexFlat | faiss.IndexScalarQuantizer) and walk.selector is not None:
        walk.filtered = True
        return faiss.SearchParameters(sel=walk.selector)
    return None


def _ivf(index: faiss.IndexIVF, walk: _Walk) -> faiss.SearchParametersIVF | None:
    """IVF: `nprobe` here; `efSearch` goes to an HNSW coarse quantizer (`IVF4096_HNSW32,...`) if there is one."""
    quantizer = faiss.downcast_index(index.quantizer)
    quantizer_params = None
    if isinstance(quantizer, faiss.IndexHNSW) and "efSearch" in walk.params:
        quantizer_params = faiss.SearchParametersHNSW(efSearch=int(walk.take("efSearch", 0)))
    if "nprobe" not in walk.params and walk.selector is None and quantizer_params is None:
        return None
    walk.filtered = walk.selector is not None
    ivf = faiss.SearchParametersIVF(
        nprobe=int(walk.take("nprobe", index.nprobe)), max_codes=index.max_codes, sel=walk.selector
    )
    if quantizer_params is not None:
        ivf.quantizer_params = quantizer_params
    return ivf
