"""Files replaced whole: readers see the old file or the new one, and two writers of one path never collide."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.pairs import ClickPairRow, write_pairs
from config_files.atomic import atomic_path, write_atomic


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "new" / "results.json", "first")
    assert path.read_text() == "first"
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_a_writer_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "report.html", "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half a")
        raise RuntimeError("crashed mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_two_writers_of_one_path_do_not_collide(tmp_path: Path) -> None:
    """Regression: a fixed `<name>.tmp` let the second writer replace the first one's temporary file, whose own
    `os.replace` then failed (FileNotFoundError) or published the other writer's half-written data."""
    path = tmp_path / "pairs.jsonl"
    with atomic_path(path) as first:
        first.write_text("first writer")
        write_atomic(path, "second writer")  # starts and finishes while the first is still writing
        assert path.read_text() == "second writer"
    assert path.read_text() == "first writer"  # the last replace wins, with a whole file
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.jsonl"]


def test_concurrent_pair_exports_to_one_file_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    pairs = [ClickPairRow(f"q{i}", f"r{i}", 1.0, 1, 1.0, 1000.0, "exp") for i in range(2000)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: write_pairs(pairs, path), range(40)))
    assert len(path.read_bytes().splitlines()) == len(pairs)
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.jsonl"]
