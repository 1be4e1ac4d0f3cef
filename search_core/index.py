"""`SearchIndex`: a Faiss index over L2-normalised vectors, addressed by string image ids.

An index *is* its factory string (`"Flat"`, `"HNSW32"`, `"IVF1024,PQ16"`, `"IVF1024,PQ16,RFlat"`), built with
`METRIC_INNER_PRODUCT`; inputs are L2-normalised here, so scores are cosine similarities (approximate for
PQ codes). Faiss labels are row numbers: row `r` is `ids[r]`, `vectors.npy[r]` and `labels.npy[r]`. Rows
are append-only, so ids never need renumbering (Faiss `IndexFlat.remove_ids` would renumber them).

Removal is a tombstone set on every index type — HNSW has no `remove_ids`, and a memory-mapped index
cannot be written. Tombstones travel to Faiss as an `IDSelector` inside the per-call search parameters,
so Flat, SQ, HNSW and IVF skip removed rows while searching and still return k results; for types without
selector support (`PQ16`, `LSH`) the search over-fetches `k + len(tombstones)` and filters. Removed rows
keep their memory until the index is rebuilt (a new artifact version).

Threads: concurrent `search` calls are safe (per-call parameters, no shared mutable state); `remove` swaps
an immutable tombstone snapshot, so it may overlap searches; `add` writes into Faiss and must not.

The query path calls Faiss's public low-level functions (`Index.search_c`, `fvec_renorm_L2` on `swig_ptr`s)
rather than its numpy wrappers, whose checks repeat ours: on a cheap IVF probe at 1M that Python is what
decides the ≤ 1.3× single-query goal (BENCHMARKS.md, "ANN indexes").

Ids: an `IdMap` (`search_core/id_map.py`) holds row → id and live id → row in numpy arrays (UTF-8 bytes,
sorted 64-bit hashes), not Python strings and a dict: a memory-mapped file of the id bytes plus 12 bytes a
vector, shared by server workers, instead of each worker's heap (BENCHMARKS.md, "Compressed indexes at scale").

Files (`save`/`load`): `index.faiss`, `vectors.npy` (float32, normalised; kept for exact re-scoring,
dedupe and MMR), `ids.txt` (one id per line: the readable list) with its packed form `ids.npy`,
`id_hashes.npy` and `id_rows.npy` (see `id_map`), `labels.npy` (int32, -1 unknown), `deleted.npy`
(tombstoned rows), `search_index.json` (factory, dim, class names, default query parameters, and under
`id_map` what the packed files must agree with). A folder saved before the packed files existed (no `id_map`
in its json) still loads: its map is built in memory from `ids.txt`. `load(mmap=True)` maps the Faiss file
with `IO_FLAG_MMAP_IFC`, the vectors and the packed id map with `np.load(mmap_mode="r")`, so several server
workers share one page-cache copy. In Faiss 1.15 that flag maps the codes of every type we use — Flat, SQ,
PQ, HNSW (graph and vectors), IVF (inverted lists; the coarse centroids are read into memory), the RFlat
refine store; the older `IO_FLAG_MMAP` maps IVF inverted lists only. Such an index is read-only
(`ReadOnlyIndexError` on `add`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.errors import (
    CorruptIndexError,
    DimensionMismatchError,
    IndexBuildError,
    IndexInputError,
    InvalidFactoryError,
    InvalidSearchParamsError,
    ReadOnlyIndexError,
)
from search_core.factory_check import check_factory
from search_core.hits import Hits
from search_core.id_map import IdMap
from search_core.index_checks import checked_ids, checked_labels, faiss_message, normalised
from search_core.index_params import (
    FAISS_PARAMS,
    PARAMS_CACHE_SIZE,
    SearchPlan,
    Tombstones,
    check_param_values,
    search_parameters,
)

logger = logging.getLogger(__name__)

PROJECT_PARAMS: dict[str, type] = {"refine": int}
"""Query parameters handled here: `refine=r` fetches r·k candidates and re-scores them exactly (stored vectors)."""

INDEX_FILE, VECTORS_FILE, LABELS_FILE, DELETED_FILE, META_FILE = (
    "index.faiss",
    "vectors.npy",
    "labels.npy",
    "deleted.npy",
    "search_index.json",
)
_ADD_BATCH = 65_536


class SearchIndex:
    """Approximate nearest-neighbour search by inner product, with string ids, tombstones and stored vectors."""

    def __init__(
        self,
        index: faiss.Index,
        *,
        factory: str,
        ids: Sequence[str] | IdMap,
        vectors: np.ndarray,
        labels: np.ndarray,
        class_names: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        deleted: frozenset[int] = frozenset(),
        read_only: bool = False,
    ) -> None:
        """Assemble from parts that already agree (an `IdMap` brings its own removed rows); use `build` or `load`."""
        self._index = index
        self.factory = factory
        self.dim = int(index.d)
        self.class_names = tuple(class_names)
        self.default_params = dict(params or {})
        self.read_only = read_only
        self._id_map = ids if isinstance(ids, IdMap) else IdMap.of(ids, deleted)
        self._vectors = vectors
        self._labels = labels
        self._tombstones = Tombstones.of(self._id_map.removed)
        self._write_lock = threading.Lock()

    # -- construction --------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: Sequence[str],
        factory: str = "HNSW32",
        *,
        labels: Sequence[int] | np.ndarray | None = None,
        class_names: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        train_sample: int = 100_000,
        seed: int = 0,
    ) -> SearchIndex:
        """Build from vectors (normalised here); `params` are default query parameters, e.g. `{"nprobe": 16}`.

        Indexes that need training (IVF, PQ, SQ) train on a seeded random sample of `train_sample` rows.
        """
        x = normalised(vectors)
        ids = checked_ids(ids, len(x))
        index = _new_faiss_index(factory, x.shape[1])
        params = dict(params or {})
        _search_parameters(index, params, None)  # fail before a long build, not at the first query
        if not index.is_trained:
            sample = np.random.default_rng(seed).permutation(len(x))[:train_sample]
            try:
                index.train(x[np.sort(sample)])
            except RuntimeError as exc:
                raise IndexBuildError(
                    f"cannot train {factory!r} on {len(sample)} vectors: {faiss_message(exc)}"
                ) from None
        _add_batches(index, x)
        logger.info("built %s index of %d vectors (dim %d)", factory, len(x), x.shape[1])
        return cls(
            index,
            factory=factory,
            ids=ids,
            vectors=x,
            labels=checked_labels(labels, len(x)),
            class_names=class_names,
            params=params,
        )

    # -- queries -------------------------------------------------------------------------------------------

    def search(self, xq: np.ndarray, k: int, params: Mapping[str, Any] | None = None) -> list[Hits]:
        """The k best hits per query row, best first; fewer when the index holds fewer live items.

        `params` override the index's defaults for this call only: `efSearch` (HNSW), `nprobe` (IVF),
        `k_factor` (`...,RFlat`), `refine` (exact re-scoring of refine·k candidates with the stored vectors).
        One query runs on the calling thread alone: Faiss parallelises over queries, so a second OpenMP
        thread has nothing to do, yet on a busy machine the region can wait a scheduler slice for it (ms).
        """
        if not isinstance(k, int) or k < 1:
            raise InvalidSearchParamsError(f"k must be a positive integer, got {k!r}")
        x = normalised(xq, self.dim)
        tombstones = self._tombstones
        key = (k, *params.items()) if params else (k,)
        try:  # the plan lookup inline, on every query (BENCHMARKS.md, "ANN indexes")
            plan = tombstones.params_cache.get(key)
        except TypeError:  # an unhashable value, e.g. a list: not a number either
            raise InvalidSearchParamsError(f"query parameters must be numbers, got {params!r}") from None
        faiss_params, fetch, direct, exact = plan or self._new_plan(key, k, params, tombstones)
        n = len(x)
        scores, rows = np.empty((n, fetch), dtype=np.float32), np.empty((n, fetch), dtype=np.int64)
        threads = faiss.omp_get_max_threads() if n == 1 else 1
        if threads > 1:  # it moves single-query p50s (BENCHMARKS.md, "ANN indexes")
            faiss.omp_set_num_threads(1)  # per calling thread (OpenMP ICV): concurrent requests do not see it
        try:  # `search_c`, not `search`: why in the module docstring; faiss's stubs omit it, its `search` calls it
            self._index.search_c(  # type: ignore[attr-defined]
                n, faiss.swig_ptr(x), fetch, faiss.swig_ptr(scores), faiss.swig_ptr(rows), faiss_params
            )
        finally:
            if threads > 1:
                faiss.omp_set_num_threads(threads)
        if not direct:
            return [self._rescored(x[i], rows[i], scores[i], k, exact, tombstones) for i in range(n)]
        if n == 1 and -1 not in rows[0].tolist():  # a server's query: skips the block path's list work
            return [Hits(self._id_map.ids_at(rows[0]), scores[0].tolist())]
        return self._hit_lists(rows, scores)

    def exact_search(self, xq: np.ndarray, k: int) -> list[Hits]:
        """Brute-force inner-product search over the stored vectors: the ground truth for ANN recall."""
        x = normalised(xq, self.dim)
        live = self._id_map.live_rows()
        if len(live) == 0:
            return [Hits([], []) for _ in range(len(x))]
        base = self._vectors if len(live) == self._id_map.row_count else self._vectors[live]
        scores, positions = faiss.knn(
            x, np.ascontiguousarray(base), min(k, len(live)), metric=faiss.METRIC_INNER_PRODUCT
        )
        return self._hit_lists(np.where(positions >= 0, live[np.maximum(positions, 0)], -1), scores)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored normalised vectors of `ids` as float32 (len(ids), dim), in the order given."""
        return np.asarray(self._vectors[self._id_map.rows_of(ids)], dtype=np.float32)

    def labels(self, ids: Sequence[str]) -> np.ndarray:
        """Class labels of `ids` (int32; -1 where unknown)."""
        return self._labels[self._id_map.rows_of(ids)]

    def metadata(self, image_id: str) -> dict[str, Any]:
        """What re-ranking filters and boosts can test: `label` (int, -1 unknown) and `class` (name or None)."""
        label = int(self._labels[self._id_map.rows_of([image_id])[0]])
        name = self.class_names[label] if 0 <= label < len(self.class_names) else None
        return {"label": label, "class": name}

    @property
    def faiss_index(self) -> faiss.Index:
        """The underlying Faiss index, for benchmarks and diagnostics; mutating it breaks the row mapping."""
        return self._index

    @property
    def ids(self) -> list[str]:
        """Live image ids in insertion order."""
        return self._id_map.live_ids()

    def __len__(self) -> int:
        return len(self._id_map)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._id_map

    # -- updates -------------------------------------------------------------------------------------------

    def add(self, ids: Sequence[str], vectors: np.ndarray, labels: Sequence[int] | np.ndarray | None = None) -> None:
        """Append items (an id already present must be removed first); not safe while searches run."""
        if self.read_only:
            raise ReadOnlyIndexError("index was loaded memory-mapped (read-only); load it with mmap=False to add")
        x = normalised(vectors, self.dim)
        ids = checked_ids(ids, len(x))
        present = [i for i, row in zip(ids, self._id_map.find(ids).tolist(), strict=True) if row >= 0]
        if present:
            raise IndexInputError(f"{len(present)} ids already in the index (e.g. {present[0]}); remove them first")
        new_labels = checked_labels(labels, len(x))
        with self._write_lock:
            _add_batches(self._index, x)
            self._vectors = np.concatenate([self._vectors, x])
            self._labels = np.concatenate([self._labels, new_labels])
            self._id_map.add(ids)
            self._tombstones = Tombstones.of(self._tombstones.rows)  # cached plans know the old row count

    def remove(self, ids: Sequence[str]) -> None:
        """Tombstone items: they stop appearing in results at once; memory is reclaimed by a rebuild."""
        with self._write_lock:
            self._id_map.remove(ids)
            self._tombstones = Tombstones.of(self._id_map.removed)

    # -- persistence ---------------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index files into `folder` (an artifact staging folder; the store publishes atomically)."""
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(folder / INDEX_FILE))
        np.save(folder / VECTORS_FILE, np.asarray(self._vectors, dtype=np.float32))
        np.save(folder / LABELS_FILE, self._labels)
        np.save(folder / DELETED_FILE, np.array(sorted(self._id_map.removed), dtype=np.int64))
        meta = {
            "factory": self.factory,
            "dim": self.dim,
            "class_names": self.class_names,
            "params": self.default_params,
            "id_map": self._id_map.save(folder),
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> SearchIndex:
        """Read an index written by `save`; with `mmap`, share pages between processes (read-only)."""
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            index = faiss.read_index(str(folder / INDEX_FILE), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
            vectors = np.load(folder / VECTORS_FILE, mmap_mode="r" if mmap else None)
            labels = np.load(folder / LABELS_FILE)
            deleted = frozenset(np.load(folder / DELETED_FILE).tolist())
            id_map = IdMap.load(folder, meta.get("id_map"), mmap=mmap, removed=deleted)
            factory, dim = str(meta["factory"]), int(meta["dim"])
        except CorruptIndexError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptIndexError(f"cannot read index files in {folder}: {exc}") from None
        except RuntimeError as exc:
            raise CorruptIndexError(f"cannot read {folder / INDEX_FILE}: {faiss_message(exc)}") from None
        rows = id_map.row_count
        sizes = {"faiss": index.ntotal, "ids": rows, "vectors": len(vectors), "labels": len(labels)}
        if len(set(sizes.values())) != 1 or index.d != dim or vectors.shape[1:] != (dim,):
            raise CorruptIndexError(f"index files in {folder} disagree: sizes {sizes}, dim {dim} vs faiss {index.d}")
        if any(not 0 <= r < rows for r in deleted):
            raise CorruptIndexError(f"{folder / DELETED_FILE} names rows outside the index's {rows}")
        return cls(
            index,
            factory=factory,
            ids=id_map,
            vectors=vectors,
            labels=labels,
            class_names=meta.get("class_names", ()),
            params=meta.get("params"),
            read_only=mmap,
        )

    # -- internals -----------------------------------------------------------------------------------------

    def _hit_lists(self, rows: np.ndarray, scores: np.ndarray) -> list[Hits]:
        """(n, k) rows and scores from Faiss as `Hits`; -1 marks an empty slot (fewer live items than k).

        Whole-block conversions (one gather and decode, two `tolist`s), then plain list work per query.
        """
        if not self._id_map.row_count:  # nothing to gather from: Faiss returned only empty slots
            return [Hits([], []) for _ in range(len(rows))]
        id_lists = self._id_map.id_lists(rows)
        hit_lists = []
        for row_list, id_list, score_list in zip(rows.tolist(), id_lists, scores.tolist(), strict=True):
            if -1 in row_list:  # the gather read the last id there: drop those slots
                live = [i for i, r in enumerate(row_list) if r >= 0]
                id_list, score_list = [id_list[i] for i in live], [score_list[i] for i in live]
            hit_lists.append(Hits(id_list, score_list))
        return hit_lists

    def _new_plan(
        self, key: tuple[Any, ...], k: int, params: Mapping[str, Any] | None, tombstones: Tombstones
    ) -> SearchPlan:
        """How to run a search for `k` and `params` (over the defaults) on this tombstone snapshot.

        Cached per snapshot under `key`: k and the call's parameters in their given order (a reordered dict
        only costs one more entry); `add` starts a new snapshot since `fetch` depends on the row count.
        Once built a plan is read-only, so concurrent searches share it.
        """
        merged = {**self.default_params, **(params or {})}
        faiss_params, filtered = _search_parameters(self._index, merged, tombstones.selector)
        refine = int(merged.get("refine", 1))
        clean = filtered or not tombstones.rows  # Faiss's results hold no removed rows
        fetch = k * refine if clean else k * refine + len(tombstones.rows)
        direct = refine == 1 and clean
        plan = SearchPlan(faiss_params, min(fetch, self._id_map.row_count) or 1, direct, refine > 1)
        if len(tombstones.params_cache) >= PARAMS_CACHE_SIZE:
            tombstones.params_cache.clear()
        tombstones.params_cache[key] = plan
        return plan

    def _rescored(
        self, q: np.ndarray, rows: np.ndarray, scores: np.ndarray, k: int, exact: bool, tombstones: Tombstones
    ) -> Hits:
        """Drop empty slots and tombstones, optionally re-score exactly, keep the k best."""
        keep = rows >= 0
        if tombstones.rows:
            keep &= ~np.isin(rows, np.fromiter(tombstones.rows, dtype=np.int64, count=len(tombstones.rows)))
        rows, scores = rows[keep], scores[keep]
        if exact and len(rows):
            scores = np.asarray(self._vectors[rows], dtype=np.float32) @ q
            order = np.argsort(-scores, kind="stable")
            rows, scores = rows[order], scores[order]
        return Hits(self._id_map.ids_at(rows[:k]), scores[:k].tolist())


def _new_faiss_index(factory: str, dim: int) -> faiss.Index:
    check_factory(factory, dim)  # some strings Faiss accepts abort or crash the process later (see factory_check)
    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise InvalidFactoryError(f"bad Faiss factory string {factory!r}: {faiss_message(exc)}") from None


def _search_parameters(
    index: faiss.Index, params: Mapping[str, Any], selector: faiss.IDSelector | None
) -> tuple[Any, bool]:
    """Validate every parameter (project and Faiss), then build the Faiss part for this index."""
    check_param_values(params, PROJECT_PARAMS)
    return search_parameters(index, {n: v for n, v in params.items() if n in FAISS_PARAMS}, selector)


def _add_batches(index: faiss.Index, x: np.ndarray) -> None:
    """Add in batches so a long build shows progress (tqdm on stderr, at most one line a second)."""
    starts = range(0, len(x), _ADD_BATCH)
    for start in tqdm(starts, desc="indexing", unit="batch", mininterval=1.0, disable=len(starts) < 4):
        index.add(x[start : start + _ADD_BATCH])


def load_index(store: ArtifactStore, ref: ArtifactRef | str, mmap: bool = True) -> SearchIndex:
    """Load a published index (hashes verified), memory-mapped by default so server workers share pages.

    Raises `DimensionMismatchError` when the index's encoder artifact embeds another dimension.
    """
    manifest = store.manifest("index", ref)
    if manifest.encoder:
        encoder = store.manifest("encoder", manifest.encoder, verify=False)
        if encoder.dim != manifest.dim:
            raise DimensionMismatchError(
                f"index {manifest.ref} holds {manifest.dim}-d vectors but encoder {encoder.ref} embeds {encoder.dim}-d"
            )
    index = SearchIndex.load(store.path("index", manifest.ref), mmap=mmap)
    if index.dim != manifest.dim:
        raise DimensionMismatchError(f"index {manifest.ref}: manifest says dim {manifest.dim}, files hold {index.dim}")
    return index
