"""`MilvusIndex`: an index artifact served by Milvus, with the add/remove/search contract of `SearchIndex`.

Past one machine the vectors belong in a distributed vector engine rather than a home-made scatter-gather:
Milvus shards, replicates and searches a collection across its query nodes. This backend keeps the index
artifact as the source of truth — the same files as a Faiss index (`SearchIndex.save`), so one artifact can
be served by either backend — and mirrors its live rows into a Milvus collection (`id` VARCHAR primary key,
`vector` FLOAT_VECTOR, inner-product metric). Searches go to Milvus; stored vectors, labels and exact search
come from the local artifact (`local`), which re-ranking and the `refine` parameter read as with Faiss.

The Milvus index type follows the artifact's factory string: `Flat` → FLAT, `HNSW<M>` → HNSW (M, efConstruction
200), `IVF<n>,Flat` → IVF_FLAT, `IVF<n>,SQ8` → IVF_SQ8, `IVF<n>,PQ<m>` → IVF_PQ; query parameters `efSearch`
→ `ef`, `nprobe` → `nprobe`, plus the project's `refine`. Other factories have no Milvus counterpart and are
refused. (milvus-lite 3.2 builds FLAT, HNSW, IVF_FLAT and IVF_SQ8; IVF_PQ needs a Milvus server.) Removal
deletes the rows in Milvus (no tombstones there); collections are created with Strong consistency, so a search
right after `add` or `remove` sees it. A bulk load is flushed (sealed), so Milvus builds the index on it.

`pymilvus` is imported on first use (a connection): tests use milvus-lite (`MilvusClient("file.db")`, an
embedded Milvus in a local file), production a Milvus cluster URI from settings (`milvus_config.MilvusConfig`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from search_core.errors import IndexBackendError, InvalidFactoryError, InvalidSearchParamsError
from search_core.hits import Hits
from search_core.index import PROJECT_PARAMS, SearchIndex
from search_core.index_checks import MAX_ID_BYTES, checked_ids, normalised
from search_core.index_params import check_param_values

if TYPE_CHECKING:
    from pymilvus import MilvusClient

logger = logging.getLogger(__name__)

_INSERT_BATCH = 5_000
INDEX_BUILD_TIMEOUT_S = 300.0
"""How long a bulk load may wait for Milvus to build its index before serving it is refused."""
_FACTORIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Flat$"), "FLAT"),
    (re.compile(r"^HNSW(?P<M>\d+)$"), "HNSW"),
    (re.compile(r"^IVF(?P<nlist>\d+),Flat$"), "IVF_FLAT"),
    (re.compile(r"^IVF(?P<nlist>\d+),SQ8$"), "IVF_SQ8"),
    (re.compile(r"^IVF(?P<nlist>\d+),PQ(?P<m>\d+)(?:x8)?(?:np)?$"), "IVF_PQ"),
)
_QUERY_PARAMS = {"FLAT": {}, "HNSW": {"efSearch": "ef"}, "IVF_FLAT": {"nprobe": "nprobe"}}
_QUERY_PARAMS["IVF_SQ8"] = _QUERY_PARAMS["IVF_PQ"] = _QUERY_PARAMS["IVF_FLAT"]


def connect(uri: str, token: str = "") -> MilvusClient:
    """A client for a Milvus server or a milvus-lite file (`*.db`, whose folder is created)."""
    from pymilvus import MilvusClient

    if "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=token)
    except Exception as exc:  # pymilvus raises MilvusException and gRPC errors alike
        raise IndexBackendError(f"cannot connect to Milvus at {uri}: {exc}") from exc


def milvus_index_type(factory: str) -> tuple[str, dict[str, Any]]:
    """The Milvus index type and build parameters matching a Faiss factory string."""
    for pattern, index_type in _FACTORIES:
        match = pattern.match(factory)
        if match:
            params = {key: int(value) for key, value in match.groupdict().items()}
            if index_type == "HNSW":
                params["efConstruction"] = 200
            if index_type == "IVF_PQ":
                params["nbits"] = 8
            return index_type, params
    raise InvalidFactoryError(
        f"factory {factory!r} has no Milvus index type; "
        "Milvus serves Flat, HNSW<M>, IVF<n>,Flat, IVF<n>,SQ8, IVF<n>,PQ<m>"
    )


def collection_name(prefix: str, name: str, version: int) -> str:
    """A Milvus collection name (letters, digits, `_`) for an index artifact `name@version`."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}_{version}"


class MilvusIndex:
    """An index whose searches run in a Milvus collection; everything else reads the local artifact (`local`)."""

    def __init__(self, local: SearchIndex, client: MilvusClient, collection: str) -> None:
        """Serve `local` from `collection`, created and filled from `local`'s live rows unless it holds them."""
        self.local = local
        self.client = client
        self.collection = collection
        self.index_type, self.build_params = milvus_index_type(local.factory)
        self._params = _QUERY_PARAMS[self.index_type]
        self._plans: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
        self._sync()

    # -- construction --------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls, vectors: np.ndarray, ids: Sequence[str], factory: str = "HNSW32", *, client: MilvusClient,
        collection: str, **kwargs: Any,
    ) -> MilvusIndex:  # fmt: skip
        """`SearchIndex.build` (same arguments, the files a Faiss index has), served by Milvus."""
        milvus_index_type(factory)  # refuse before building anything
        return cls(SearchIndex.build(vectors, ids, factory, **kwargs), client, collection)

    @classmethod
    def load(cls, folder: Path, *, client: MilvusClient, collection: str, mmap: bool = True) -> MilvusIndex:
        """An index folder written by `save` (or `SearchIndex.save`), served from `collection`."""
        return cls(SearchIndex.load(folder, mmap=mmap), client, collection)

    def save(self, folder: Path) -> None:
        self.local.save(folder)

    def drop(self) -> None:
        """Delete the Milvus collection (the local files stay)."""
        self._call("drop_collection", collection_name=self.collection)

    # -- the SearchIndex contract --------------------------------------------------------------------------

    @property
    def factory(self) -> str:
        return self.local.factory

    @property
    def dim(self) -> int:
        return self.local.dim

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.local.class_names

    @property
    def default_params(self) -> dict[str, Any]:
        return self.local.default_params

    @property
    def read_only(self) -> bool:
        return self.local.read_only

    @property
    def ids(self) -> list[str]:
        return self.local.ids

    def __len__(self) -> int:
        return len(self.local)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self.local

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        return self.local.vectors(ids)

    def labels(self, ids: Sequence[str]) -> np.ndarray:
        return self.local.labels(ids)

    def metadata(self, image_id: str) -> dict[str, Any]:
        return self.local.metadata(image_id)

    def exact_search(self, xq: np.ndarray, k: int) -> list[Hits]:
        return self.local.exact_search(xq, k)

    def search(self, xq: np.ndarray, k: int, params: Mapping[str, Any] | None = None) -> list[Hits]:
        """The k best hits per query row from Milvus, best first; `refine=r` re-scores r·k candidates exactly."""
        if not isinstance(k, int) or k < 1:
            raise InvalidSearchParamsError(f"k must be a positive integer, got {k!r}")
        x = normalised(xq, self.dim)
        limit, search_params = self._plan(k, params)
        if len(self.local) == 0:
            return [Hits([], []) for _ in range(len(x))]
        results = self._call(
            "search",
            collection_name=self.collection,
            data=x.tolist(),
            limit=min(limit, len(self.local)),
            search_params={"metric_type": "IP", "params": search_params},
        )
        hits = []
        for q, found in zip(x, results, strict=True):
            ids = [hit["id"] for hit in found]
            scores = np.array([hit["distance"] for hit in found], dtype=np.float32)
            if limit > k and ids:
                scores = self.local.vectors(ids) @ q
                order = np.argsort(-scores, kind="stable")[:k]
                ids, scores = [ids[i] for i in order], scores[order]
            hits.append(Hits(ids[:k], scores[:k].tolist()))
        return hits

    def add(self, ids: Sequence[str], vectors: np.ndarray, labels: Sequence[int] | np.ndarray | None = None) -> None:
        """Insert items (checked and stored locally first; undone locally if Milvus refuses them)."""
        ids = checked_ids(ids, len(vectors))
        self.local.add(ids, vectors, labels)
        try:
            self._insert(ids, self.local.vectors(ids))
        except IndexBackendError:
            self.local.remove(ids)
            raise

    def remove(self, ids: Sequence[str]) -> None:
        """Delete items: unknown ids fail before anything is deleted."""
        self.local.vectors(ids)  # UnknownIndexItemError names the first unknown id
        self._call("delete", collection_name=self.collection, ids=list(ids))
        self.local.remove(ids)

    # -- internals -----------------------------------------------------------------------------------------

    def _plan(self, k: int, params: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
        key = (k, *params.items()) if params else (k,)
        try:
            plan = self._plans.get(key)
        except TypeError:
            raise InvalidSearchParamsError(f"query parameters must be numbers, got {params!r}") from None
        if plan is not None:
            return plan
        merged = {**self.default_params, **(params or {})}
        check_param_values(merged, {**PROJECT_PARAMS, **dict.fromkeys(self._params, int)})
        unused = sorted(set(merged) - set(self._params) - set(PROJECT_PARAMS))
        if unused:
            raise InvalidSearchParamsError(
                f"index type Milvus {self.index_type} has no query parameter {', '.join(unused)}"
            )
        limit = k * int(merged.get("refine", 1))
        search_params = {self._params[name]: int(value) for name, value in merged.items() if name in self._params}
        if self.index_type == "HNSW":  # Milvus refuses ef below the number of results asked for
            search_params["ef"] = max(search_params.get("ef", 0), limit)
        self._plans[key] = (limit, search_params)
        return limit, search_params

    def _sync(self) -> None:
        """Make the collection hold exactly the local live rows: reuse it when its row count matches."""
        live = len(self.local)
        if self._call("has_collection", collection_name=self.collection):
            rows = int(self._call("get_collection_stats", collection_name=self.collection)["row_count"])
            if rows == live:
                self._call("load_collection", collection_name=self.collection)
                return
            logger.warning(
                "Milvus collection %s holds %d rows, the index %d: rebuilding it", self.collection, rows, live
            )
            self._call("drop_collection", collection_name=self.collection)
        self._create()
        ids = self.local.ids
        for start in range(0, len(ids), _INSERT_BATCH):
            batch = ids[start : start + _INSERT_BATCH]
            self._insert(batch, self.local.vectors(batch))
        if ids:  # seal the bulk load, so Milvus builds the index on it instead of scanning a growing segment
            self._call("flush", collection_name=self.collection)
            self._wait_for_index()
        logger.info("Milvus collection %s: %d rows, %s", self.collection, live, self.index_type)

    def _wait_for_index(self, timeout_s: float = INDEX_BUILD_TIMEOUT_S) -> None:
        """Milvus builds a sealed segment's index in the background; until it is done a search scans raw rows, so
        its answers would change under the caller (and its recall would say nothing of the index). Wait for it."""
        deadline = time.monotonic() + timeout_s
        while True:
            info = self._call("describe_index", collection_name=self.collection, index_name="vector")
            state = info.get("state")
            if state == "Finished" and not info.get("pending_index_rows"):
                return
            if state == "Failed" or time.monotonic() > deadline:
                raise IndexBackendError(
                    f"Milvus index on {self.collection} not built ({state}, {info.get('indexed_rows')} of "
                    f"{info.get('total_rows')} rows after {timeout_s:g} s)"
                )
            time.sleep(0.1)

    def _create(self) -> None:
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=MAX_ID_BYTES)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index_params = self.client.prepare_index_params()
        index_params.add_index(
            field_name="vector", index_type=self.index_type, metric_type="IP", params=self.build_params
        )
        self._call(
            "create_collection",
            collection_name=self.collection,
            schema=schema,
            index_params=index_params,
            consistency_level="Strong",  # a search right after an insert or delete sees it
        )

    def _insert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            {"id": i, "vector": v} for i, v in zip(ids, np.asarray(vectors, dtype=np.float32).tolist(), strict=True)
        ]
        if rows:
            self._call("insert", collection_name=self.collection, data=rows)

    def _call(self, method: str, **kwargs: Any) -> Any:
        """A pymilvus call, its failures translated into `IndexBackendError` naming the collection."""
        try:
            return getattr(self.client, method)(**kwargs)
        except Exception as exc:  # MilvusException, gRPC and connection errors alike
            raise IndexBackendError(f"Milvus {method} on {self.collection}: {exc}") from exc
