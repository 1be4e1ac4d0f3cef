"""`IdMap`: packed ids round-trip exactly (hostile ids too), lookups survive hash collisions and tombstones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from search_core import id_map as id_map_module
from search_core.errors import CorruptIndexError, IndexInputError, UnknownIndexItemError
from search_core.id_map import PACKED_FILES, TEXT_FILE, IdMap, id_hashes
from search_core.index_checks import MAX_ID_BYTES, checked_ids

HOSTILE = [
    "plain",
    "café/ü.png",  # non-ASCII: stored as UTF-8 bytes, decoded back
    "商品/画像-1.png",
    "👗🧥",
    "p" * 300 + "a",  # differ only after the first 300 bytes
    "p" * 300 + "b",
    "é" * (MAX_ID_BYTES // 2),  # the longest allowed, in two-byte characters
    "a\x01b",  # control characters other than NUL and whitespace are allowed
    "x",  # lookups of "x\x00" and "x\x00y" must not find it (numpy pads "x" with NULs)
    "tail\x7f",
]


def saved(id_map: IdMap, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    return id_map.save(folder)


def every_view(id_map: IdMap, folder: Path) -> list[IdMap]:
    """The map itself, and as loaded memory-mapped, in memory, and from `ids.txt` alone (an older folder)."""
    packed = saved(id_map, folder)
    loads = [IdMap.load(folder, packed, mmap=mmap, removed=id_map.removed) for mmap in (True, False)]
    return [id_map, *loads, IdMap.load(folder, None, mmap=True, removed=id_map.removed)]


def test_hostile_ids_round_trip_through_memory_files_and_text(tmp_path: Path) -> None:
    ids = checked_ids(HOSTILE, len(HOSTILE))
    for view in every_view(IdMap.of(ids), tmp_path):
        assert view.ids_at(np.arange(len(ids))) == ids and view.live_ids() == ids
        assert view.rows_of(list(reversed(ids))).tolist() == list(reversed(range(len(ids))))
        assert all(i in view for i in ids) and len(view) == len(ids)
        assert view.id_lists(np.array([[4, 5], [0, 9]])) == [[ids[4], ids[5]], [ids[0], ids[9]]]
        assert "p" * 300 not in view and "p" * 301 + "a" not in view and "x\x00" not in view and "x\x00y" not in view
    assert (tmp_path / TEXT_FILE).read_text(encoding="utf-8").splitlines() == ids


def test_memory_mapped_files_are_mapped_not_copied(tmp_path: Path) -> None:
    view = every_view(IdMap.of(["a", "b"]), tmp_path)[1]
    assert all(isinstance(array.base, np.memmap) for array in (view._names, view._hashes, view._rows))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=12))
def test_every_id_checked_ids_accepts_round_trips_exactly(tmp_path: Path, ids: list[str]) -> None:
    try:
        ids = checked_ids(ids, len(ids))
    except IndexInputError:
        assume(False)
    for view in every_view(IdMap.of(ids), tmp_path):
        assert view.live_ids() == ids and view.rows_of(ids).tolist() == list(range(len(ids)))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("a\x00", "NUL"),  # numpy's fixed-width bytes would strip it: "a\x00" would come back as "a"
        ("\x00a", "NUL"),
        ("caf\udcc3", "not valid Unicode"),
        ("€" * 171, "513 bytes"),
        ("a b", "whitespace"),
        ("a\u2028b", "whitespace"),  # a line separator for `str.splitlines`
        ("0\r", "whitespace"),  # regression: trailing whitespace passed when only the split parts were counted
    ],
)
def test_ids_that_would_not_round_trip_are_refused(bad: str, message: str) -> None:
    with pytest.raises(IndexInputError, match=message):
        checked_ids(["ok", bad], 2)


def test_tombstones_hide_rows_and_an_id_added_again_takes_a_new_row(tmp_path: Path) -> None:
    id_map = IdMap.of(["a", "b", "c"])
    assert id_map.remove(["b"]).tolist() == [1]
    id_map.add(["d", "b"])
    id_map.remove(["a"])
    for view in every_view(id_map, tmp_path):
        assert view.live_ids() == ["c", "d", "b"] and len(view) == 3 and view.row_count == 5
        assert view.rows_of(["b", "d"]).tolist() == [4, 3] and view.row_of("a") == -1 and "a" not in view
        assert view.find(["a", "b", 3, None]).tolist() == [-1, 4, -1, -1]
        assert view.live_rows().tolist() == [2, 3, 4]
        with pytest.raises(UnknownIndexItemError, match="image 'a' is not in the index"):
            view.rows_of(["c", "a", "zz"])


def test_removing_an_unknown_id_removes_nothing() -> None:
    id_map = IdMap.of(["a", "b"])
    with pytest.raises(UnknownIndexItemError, match="'nope'"):
        id_map.remove(["a", "nope"])
    assert id_map.live_ids() == ["a", "b"] and not id_map.removed


@pytest.mark.parametrize("digest", [lambda key: 0, lambda key: key[0]])
def test_lookups_compare_bytes_when_ids_share_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, digest: object
) -> None:
    """Every id colliding (or all ids with one first byte): lookups fall back to the stored bytes of each row."""
    monkeypatch.setattr(id_map_module, "_digest", digest)
    id_map = IdMap.of(["ab", "ac", "b", "abc"])
    id_map.remove(["ac"])
    id_map.add(["ac", "ad"])
    for view in every_view(id_map, tmp_path):
        assert view.rows_of(["ab", "ac", "b", "abc", "ad"]).tolist() == [0, 4, 2, 3, 5]
        assert [view.row_of(i) for i in ("ab", "ac", "a", "abcd")] == [0, 4, -1, -1]
        assert view.live_ids() == ["ab", "b", "abc", "ac", "ad"]


def test_the_id_hash_is_pinned() -> None:
    """Saved maps hold these hashes: a changed hash function would make every published index lose its ids."""
    assert id_hashes(["img-00000", "café"]).tolist() == [16081381403761928932, 5513492080776525439]


def test_a_second_live_row_for_one_id_in_an_old_text_file_is_corrupt(tmp_path: Path) -> None:
    (tmp_path / TEXT_FILE).write_text("a\nb\na\n", encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="'a' is live at rows 0 and 2"):
        IdMap.load(tmp_path, None, mmap=True, removed=frozenset())
    assert IdMap.load(tmp_path, None, mmap=True, removed=frozenset({0})).live_ids() == ["b", "a"]


def test_packed_files_that_disagree_are_reported(tmp_path: Path) -> None:
    packed = saved(IdMap.of(["a", "bb", "c"]), tmp_path)
    IdMap.load(tmp_path, packed, mmap=True, removed=frozenset())
    with pytest.raises(CorruptIndexError, match="4 rows"):
        IdMap.load(tmp_path, {**packed, "rows": 4}, mmap=True, removed=frozenset())
    with (tmp_path / TEXT_FILE).open("a") as fh:
        fh.write("d\n")
    with pytest.raises(CorruptIndexError, match="ids.txt has 9 bytes, 7 written"):
        IdMap.load(tmp_path, packed, mmap=True, removed=frozenset())
    np.save(tmp_path / PACKED_FILES[1], np.arange(3, dtype=np.int64))
    with pytest.raises(CorruptIndexError, match="dtypes"):
        IdMap.load(tmp_path, {**packed, "text_bytes": 9}, mmap=True, removed=frozenset())


def test_an_id_file_with_a_newline_or_bad_utf8_is_corrupt_when_read(tmp_path: Path) -> None:
    packed = saved(IdMap.of(["aa", "bb"]), tmp_path)
    for bad in (b"a\n", b"\xff\xfe"):
        np.save(tmp_path / PACKED_FILES[0], np.array([bad, b"bb"]))
        with pytest.raises(CorruptIndexError, match="not UTF-8 without newlines"):
            IdMap.load(tmp_path, packed, mmap=True, removed=frozenset()).ids_at(np.array([0, 1]))


def test_the_saved_files_match_the_meta_they_report(tmp_path: Path) -> None:
    packed = saved(IdMap.of(["a", "ééé"]), tmp_path)
    assert packed == {"rows": 2, "width": 6, "text_bytes": 2 + 7}
    assert json.loads(json.dumps(packed)) == packed
    assert np.load(tmp_path / PACKED_FILES[2]).dtype == np.uint32
