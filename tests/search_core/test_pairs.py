"""Click-pairs files: JSONL and Parquet, optional weight, experiment and clicks, extra columns ignored, bad rows
named."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from search_core.errors import PairsFileError
from search_core.pairs import ClickPair, read_pairs


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_jsonl_with_extra_columns_blank_lines_and_default_weight(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "pairs.jsonl",
        [
            {"query_image_id": "q1", "result_image_id": "r1", "weight": 2.5, "clicks": 3, "position": 1.5,
             "experiment": "exp1"},
            {"query_image_id": "q2", "result_image_id": "r2"},
        ],
    )  # fmt: skip
    path.write_bytes(path.read_bytes() + b"\n  \n")
    assert read_pairs(path) == [ClickPair("q1", "r1", 2.5, "exp1", 3), ClickPair("q2", "r2", 1.0, None, 1)]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "pairs.parquet"
    table = pa.table(
        {"query_image_id": ["a", "b"], "result_image_id": ["c", "d"], "weight": [1, 0.5], "dwell_ms": [1, 2]}
    )
    pq.write_table(table, path)
    assert read_pairs(path) == [ClickPair("a", "c", 1.0), ClickPair("b", "d", 0.5)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"result_image_id": "r"}, "row 2: query_image_id must be a non-empty string, got None"),
        ({"query_image_id": "q", "result_image_id": ""}, "row 2: result_image_id must be a non-empty string"),
        ({"query_image_id": "q", "result_image_id": "r", "weight": -1}, "row 2: weight must be a finite number >= 0"),
        ({"query_image_id": "q", "result_image_id": "r", "weight": True}, "row 2: weight must be"),
        ({"query_image_id": "q", "result_image_id": "r", "weight": "2"}, "row 2: weight must be"),
        (["q", "r", 1], "row 2: expected an object"),
        ({"query_image_id": "q", "result_image_id": "r", "clicks": 0}, "row 2: clicks must be an integer >= 1"),
        ({"query_image_id": "q", "result_image_id": "r", "clicks": 1.5}, "row 2: clicks must be an integer"),
        ({"query_image_id": "q", "result_image_id": "r", "experiment": ""}, "row 2: experiment must be a non-empty"),
        ({"query_image_id": "q", "result_image_id": "r", "experiment": 3}, "row 2: experiment must be"),
    ],
)
def test_invalid_rows_are_named(tmp_path: Path, row: object, message: str) -> None:
    path = _jsonl(tmp_path / "pairs.jsonl", [{"query_image_id": "q", "result_image_id": "r"}, row])
    with pytest.raises(PairsFileError, match=message):
        read_pairs(path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"query_image_id": "q", "result_image_id": "r"}\n{oops\n')
    with pytest.raises(PairsFileError, match="line 2: invalid JSON"):
        read_pairs(path)


def test_missing_unknown_format_and_corrupt_parquet(tmp_path: Path) -> None:
    with pytest.raises(PairsFileError, match="not found"):
        read_pairs(tmp_path / "nope.jsonl")
    csv = tmp_path / "pairs.csv"
    csv.write_text("query_image_id,result_image_id\n")
    with pytest.raises(PairsFileError, match="unknown format '.csv'"):
        read_pairs(csv)
    broken = tmp_path / "pairs.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(PairsFileError, match="not a readable Parquet file"):
        read_pairs(broken)
