"""Checks on what goes into a `SearchIndex`, and Faiss's C++ errors reduced to one readable line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import faiss
import numpy as np

from search_core.errors import DimensionMismatchError, IndexInputError

_FAISS_LOCATION = re.compile(r"^Error in .*? at \S+:\d+: (?:Error: '.*?' failed: )?")


def faiss_message(exc: BaseException) -> str:
    """Faiss's `Error in <C++ signature> at <file>:<line>: <why>` reduced to `<why>`."""
    return _FAISS_LOCATION.sub("", str(exc).strip().splitlines()[0])


def normalised(vectors: np.ndarray | Sequence[Sequence[float]], dim: int | None = None) -> np.ndarray:
    """Rows scaled to unit L2 norm as float32 (zero rows stay zero), checking shape and finiteness."""
    x = np.array(vectors, dtype=np.float32, order="C")  # a copy: normalize_L2 works in place
    if x.ndim != 2:
        raise IndexInputError(f"vectors must be a 2-D array (n, dim), got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise DimensionMismatchError(f"vectors of dimension {x.shape[1]} for an index of dimension {dim}")
    pointer = faiss.swig_ptr(x)
    if not math.isfinite(faiss.fvec_norm_L2sqr(pointer, x.size)):  # NaN or inf anywhere propagates into the sum
        raise IndexInputError("vectors contain NaN, infinite or float32-overflowing values")
    # in place; `normalize_L2` would take the pointer again (faiss's stubs omit the function it calls)
    faiss.fvec_renorm_L2(x.shape[1], len(x), pointer)  # type: ignore[attr-defined]
    return x


def checked_ids(ids: Sequence[str], n: int) -> list[str]:
    ids = list(ids)
    if len(ids) != n:
        raise IndexInputError(f"{len(ids)} ids for {n} vectors")
    if not all(isinstance(i, str) for i in ids) or len("\n".join(ids).split()) != n:
        raise IndexInputError("image ids must be non-empty strings without whitespace (they are written one per line)")
    if len(set(ids)) != n:
        raise IndexInputError("duplicate image ids")
    return ids


def checked_labels(labels: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    if labels is None:
        return np.full(n, -1, dtype=np.int32)
    array = np.asarray(labels)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise IndexInputError(f"labels must be {n} integers, got shape {array.shape} of {array.dtype}")
    return array.astype(np.int32)
