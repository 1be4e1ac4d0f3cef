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


MAX_ID_BYTES = 512
"""The longest image id in UTF-8 bytes (Milvus's key limit too): the packed id map pads every row to the longest."""


def checked_ids(ids: Sequence[str], n: int) -> list[str]:
    """Ids an index can hold and give back exactly: non-empty UTF-8 strings of at most `MAX_ID_BYTES` bytes
    without whitespace (`ids.txt` has one per line) or NUL (the packed map's padding), none repeated."""
    ids = list(ids)
    if len(ids) != n:
        raise IndexInputError(f"{len(ids)} ids for {n} vectors")
    for image_id in ids:
        if not isinstance(image_id, str) or image_id.split() != [image_id]:
            raise IndexInputError(
                f"image ids must be non-empty strings without whitespace (they are written one per line), "
                f"got {image_id!r:.60}"
            )
        try:
            size = len(image_id.encode("utf-8"))
        except UnicodeEncodeError:
            raise IndexInputError(f"image id {image_id!r} is not valid Unicode (a lone surrogate)") from None
        if "\x00" in image_id:
            raise IndexInputError(f"image id {image_id!r} contains a NUL character")
        if size > MAX_ID_BYTES:
            raise IndexInputError(f"image id {image_id[:40]!r}... is {size} bytes in UTF-8; at most {MAX_ID_BYTES}")
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
