"""`IdMap`: a `SearchIndex`'s string image ids and their Faiss rows, packed in numpy arrays, not Python objects.

Row → id: each id's UTF-8 bytes in one fixed-width `S{w}` array, `w` the longest id's byte length (numpy pads
shorter ids with NUL bytes and strips trailing NULs when it reads them back, so an id may not contain NUL:
`checked_ids` refuses it). A block of hit rows is one gather and one decode; only the hits become `str`s.
Fixed width rather than offsets into a byte blob: one array, one gather per block, and no 8-byte offset per
row, at the cost of padding every row to the longest id (which `index_checks.MAX_ID_BYTES` bounds).

Id → row: the rows sorted by a 64-bit hash of the id's bytes (`id_hashes`: XXH3-64, whose output the xxHash
format fixes; unlike Python's `hash` it is the same in every process, so it can be saved, and unlike blake2b
it is not most of the cost of looking up a re-ranker's candidates). A lookup is a
binary search for the hash, then a comparison of the stored bytes at each candidate row of the hash's run:
two ids may share a hash, and an id removed and added again holds two rows (the old one tombstoned).
Tombstoned rows (`removed`) are not live: they are in no answer of `in`, `len`, `rows_of` or `live_ids`.

Files, written beside `ids.txt` (one id per line, the readable contract): `ids.npy` (the `S{w}` array),
`id_hashes.npy` (uint64, ascending) and `id_rows.npy` (uint32 rows, or int64 past 2³² rows, in hash order).
Loaded with `mmap`, the three are memory-mapped: page cache shared by every server worker, not each one's
heap. A query reads the pages of its hits (gather) and binary searches (lookups) only, but the kernel maps
their neighbours too, so under random traffic the files soon become wholly resident: the map then costs its
files' size per vector (BENCHMARKS.md, "Compressed indexes at scale").

`save` returns what `load` checks the folder against (row count, width, the byte size of `ids.txt`); the packed
files are trusted as `save` wrote them — a full check would read every page — while a published artifact's
manifest hashes guard their bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from search_core.errors import CorruptIndexError, UnknownIndexItemError

logger = logging.getLogger(__name__)

TEXT_FILE, NAMES_FILE, HASHES_FILE, ROWS_FILE = "ids.txt", "ids.npy", "id_hashes.npy", "id_rows.npy"
PACKED_FILES = (NAMES_FILE, HASHES_FILE, ROWS_FILE)
_TEXT_CHUNK = 1 << 20  # rows per write of ids.txt, so saving never holds every id as a Python object


class IdMap:
    """Row → id and live id → row for string ids, with tombstones; appends and removals, no renumbering."""

    def __init__(self, names: np.ndarray, hashes: np.ndarray, rows: np.ndarray, removed: frozenset[int]) -> None:
        """Assemble from arrays that agree (`of` and `load` build them): names[r] is row r's id, and
        `rows[i]` is the row whose id hashes to `hashes[i]`, hashes ascending."""
        self._names = names
        self._hashes = hashes
        self._rows = rows
        self.removed = removed

    @classmethod
    def of(cls, ids: Sequence[str], removed: Iterable[int] = ()) -> IdMap:
        """Pack `ids` (row r holds ids[r]); an id may repeat only at rows that are all removed but one."""
        empty = cls(np.zeros(0, dtype="S1"), np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32), frozenset())
        empty.add(ids)
        empty.removed = frozenset(removed)
        return empty

    # -- lookups -------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows held, removed ones included: the next `add` starts at this row."""
        return len(self._names)

    def __len__(self) -> int:
        return len(self._names) - len(self.removed)

    def __contains__(self, image_id: object) -> bool:
        return self.row_of(image_id) >= 0

    def row_of(self, image_id: object) -> int:
        """The live row of one id, or -1: a scalar path for `in` and single-id metadata."""
        key = _key(image_id)
        if key is None:
            return -1
        digest = np.uint64(_digest(key))
        return self._live_in_run(key, int(self._hashes.searchsorted(digest)), digest)

    def rows_of(self, ids: Sequence[str]) -> np.ndarray:
        """Live rows of `ids` (int64, in the order given); `UnknownIndexItemError` names the first id not live."""
        rows = self.find(ids)
        if len(rows) and rows.min() < 0:
            missing = ids[int(np.argmax(rows < 0))]
            raise UnknownIndexItemError(f"image {missing!r} is not in the index")
        return rows

    def find(self, ids: Sequence[object]) -> np.ndarray:
        """Live rows of `ids` (int64), -1 where an id is not live: a hash per id, the rest over the whole batch.

        The first row of each id's hash run is checked for all ids at once; only where that is not the id's
        live row are the run's other rows compared (a shared hash, an id added again after removal).
        """
        if len(ids) == 1:  # a catalog image's own vector, one candidate's metadata: no block set-up
            return np.array([self.row_of(ids[0])], dtype=np.int64)
        keys = _keys(ids)
        hashes = self._hashes
        if not keys or not len(hashes):
            return np.full(len(keys), -1, dtype=np.int64)
        digests = _hash_keys([key or b"" for key in keys])
        start = hashes.searchsorted(digests).tolist()
        rows = self._rows[np.minimum(start, len(hashes) - 1)].tolist()
        removed = self.removed
        found = [
            row if key == name and row not in removed else -1
            for key, row, name in zip(keys, rows, self._names[rows].tolist(), strict=True)
        ]
        if -1 in found:
            for i, key in enumerate(keys):
                if found[i] < 0 and key is not None:
                    found[i] = self._live_in_run(key, start[i] + 1, digests[i])
        return np.array(found, dtype=np.int64)

    def ids_at(self, rows: np.ndarray) -> list[str]:
        """The ids of `rows` (1-D, each in range), decoded as one block."""
        return _decoded(self._names[rows].tolist(), len(rows))

    def id_lists(self, rows: np.ndarray) -> list[list[str]]:
        """The ids of an (n, k) block of rows as n lists; a -1 slot reads the last row's id (callers drop them)."""
        n, k = rows.shape
        flat = _decoded(self._names[rows.reshape(-1)].tolist(), n * k)
        return [flat[i * k : (i + 1) * k] for i in range(n)]

    def live_rows(self) -> np.ndarray:
        """Rows not removed, ascending (int64)."""
        rows = np.arange(len(self._names), dtype=np.int64)
        if not self.removed:
            return rows
        return np.setdiff1d(rows, np.fromiter(self.removed, dtype=np.int64, count=len(self.removed)))

    def live_ids(self) -> list[str]:
        """Live ids in row order, which is insertion order (an id added again after removal comes last)."""
        return self.ids_at(self.live_rows())

    # -- updates -------------------------------------------------------------------------------------------

    def add(self, ids: Sequence[str]) -> None:
        """Append `ids` as the next rows (the caller checked them: UTF-8 strings without NUL, none live)."""
        if not ids:
            return
        keys = [i.encode("utf-8") for i in ids]
        start = len(self._names)
        width = max(self._names.dtype.itemsize, max(map(len, keys)))
        names = np.concatenate([self._names.astype(f"S{width}"), np.array(keys, dtype=f"S{width}")])
        digests = _hash_keys(keys)
        order = np.argsort(digests, kind="stable")  # equal hashes keep row order, as in the merged runs
        at = self._hashes.searchsorted(digests[order], "right")
        hashes = np.insert(np.asarray(self._hashes), at, digests[order])
        rows = np.insert(np.asarray(self._rows).astype(_row_dtype(len(names))), at, start + order)
        self._names, self._hashes, self._rows = names, hashes, rows

    def remove(self, ids: Sequence[str]) -> np.ndarray:
        """Tombstone the live `ids`, all or none (`UnknownIndexItemError` first); returns their rows."""
        rows = self.rows_of(ids)
        self.removed = self.removed | frozenset(rows.tolist())
        return rows

    # -- files ---------------------------------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, int]:
        """Write `ids.txt` and the packed arrays; returns what `load` checks them against."""
        text_bytes = 0
        with (folder / TEXT_FILE).open("wb") as fh:
            for start in range(0, len(self._names), _TEXT_CHUNK):
                chunk = b"".join(name + b"\n" for name in self._names[start : start + _TEXT_CHUNK].tolist())
                text_bytes += fh.write(chunk)
        for name, array in zip(PACKED_FILES, (self._names, self._hashes, self._rows), strict=True):
            np.save(folder / name, array)
        return {"rows": len(self._names), "width": self._names.dtype.itemsize, "text_bytes": text_bytes}

    @classmethod
    def load(cls, folder: Path, packed: Mapping[str, Any] | None, *, mmap: bool, removed: frozenset[int]) -> IdMap:
        """Read what `save` wrote (`packed` is its answer); without `packed` (a folder written before the packed
        files existed), build the map in memory from `ids.txt`. Raises `CorruptIndexError`, `OSError`."""
        if packed is None:
            ids = (folder / TEXT_FILE).read_text(encoding="utf-8").splitlines()
            logger.info("%s has no packed id map: built from %s in memory (%d ids)", folder, TEXT_FILE, len(ids))
            id_map = cls.of(ids, removed)
            id_map.check_unique()
            return id_map
        # plain ndarray views of the maps: indexing an `np.memmap` builds another memmap (~1 µs a gather)
        names, hashes, rows = (np.asarray(np.load(folder / f, mmap_mode="r" if mmap else None)) for f in PACKED_FILES)
        n, width, text_bytes = int(packed["rows"]), int(packed["width"]), int(packed["text_bytes"])
        shapes = {"ids": names.shape, "id hashes": hashes.shape, "id rows": rows.shape}
        dtypes = names.dtype.kind == "S" and hashes.dtype == np.uint64 and rows.dtype in (np.uint32, np.int64)
        if set(shapes.values()) != {(n,)} or not dtypes:
            raise CorruptIndexError(
                f"id map files in {folder} disagree: shapes {shapes} for {n} rows, dtypes "
                f"{names.dtype}, {hashes.dtype}, {rows.dtype}"
            )
        text_size = (folder / TEXT_FILE).stat().st_size
        if names.dtype.itemsize != width or text_size != text_bytes:
            raise CorruptIndexError(
                f"id map files in {folder} disagree: {TEXT_FILE} has {text_size} bytes, {text_bytes} written; "
                f"{NAMES_FILE} is {names.dtype.itemsize} bytes wide, {width} written"
            )
        return cls(names, hashes, rows, removed)

    def check_unique(self) -> None:
        """`CorruptIndexError` if two live rows hold one id (only a damaged file can say so)."""
        if len(self._hashes) < 2:
            return
        same = np.flatnonzero(self._hashes[1:] == self._hashes[:-1])
        for position in same.tolist():
            first, second = (int(r) for r in self._rows[position : position + 2])
            live = first not in self.removed and second not in self.removed
            if live and self._names[first] == self._names[second]:
                raise CorruptIndexError(f"image {self._names[first].decode()!r} is live at rows {first} and {second}")

    # -- internals -----------------------------------------------------------------------------------------

    def _live_in_run(self, key: bytes, position: int, digest: np.uint64) -> int:
        """The live row holding `key` among the rows whose hash is `digest` (from `position` on), or -1."""
        hashes = self._hashes
        while position < len(hashes) and hashes[position] == digest:
            row = int(self._rows[position])
            if row not in self.removed and self._names[row] == key:
                return row
            position += 1
        return -1


def id_hashes(ids: Sequence[str]) -> np.ndarray:
    """The persisted 64-bit hash of each id (uint64); changing it would orphan every saved id map."""
    return _hash_keys([i.encode("utf-8") for i in ids])


_digest = xxhash.xxh3_64_intdigest


def _hash_keys(keys: Sequence[bytes]) -> np.ndarray:
    return np.fromiter(map(_digest, keys), dtype=np.uint64, count=len(keys))


def _keys(ids: Sequence[object]) -> list[bytes | None]:
    """`_key` of each id; the common batch (strings, no NUL, valid Unicode) in one pass."""
    try:
        keys: list[bytes | None] = [image_id.encode("utf-8") for image_id in ids]  # type: ignore[attr-defined]
    except (AttributeError, UnicodeEncodeError):
        return [_key(image_id) for image_id in ids]
    if b"\x00" in b"".join(keys):  # type: ignore[arg-type]
        return [_key(image_id) for image_id in ids]
    return keys


def _key(image_id: object) -> bytes | None:
    """An id's stored bytes, or None for what no index can hold (not a string, NUL, not encodable)."""
    if not isinstance(image_id, str) or "\x00" in image_id:
        return None
    try:
        return image_id.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _decoded(names: list[bytes], expected: int) -> list[str]:
    """One decode for a block: ids never contain a newline (`checked_ids`), so they join and split on it."""
    if not names:
        return []
    try:
        decoded = b"\n".join(names).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        decoded = []
    if len(decoded) != expected:
        raise CorruptIndexError(f"{NAMES_FILE} holds an id that is not UTF-8 without newlines: not written by `save`")
    return decoded


def _row_dtype(rows: int) -> type[np.unsignedinteger[Any]] | type[np.signedinteger[Any]]:
    return np.uint32 if rows <= np.iinfo(np.uint32).max else np.int64
