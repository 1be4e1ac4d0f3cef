"""Click pairs: (query image, clicked result image, weight) rows that fine-tuning groups into click groups.

The file is JSONL (one object per line) or Parquet, chosen by suffix, with columns `query_image_id`,
`result_image_id` and `weight` (optional, default 1.0; e.g. an inverse-propensity-weighted click count),
and optionally `experiment` (where the clicks were logged) and `clicks` (how many), which training records
as the groups' lineage. Other columns (position, dwell) are ignored. A bad row is an error naming the file and row,
not a silent skip: a pairs file is produced by our own export, so a bad row means a bug upstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from search_core.errors import PairsFileError

COLUMNS = ("query_image_id", "result_image_id", "weight", "experiment", "clicks")
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})


@dataclass(frozen=True)
class ClickPair:
    """Users who searched with `query_image_id` chose `result_image_id`; `weight` ≥ 0 says how much that counts."""

    query_image_id: str
    result_image_id: str
    weight: float = 1.0
    experiment: str | None = None
    """The experiment whose logs the clicks came from (None: not recorded)."""
    clicks: int = 1


def read_pairs(path: Path) -> list[ClickPair]:
    """All pairs of a JSONL or Parquet file, in file order; `PairsFileError` for anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise PairsFileError(f"pairs file {path} not found")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        rows = _jsonl_rows(path)
    elif suffix in PARQUET_SUFFIXES:
        rows = _parquet_rows(path)
    else:
        raise PairsFileError(f"pairs file {path}: unknown format {suffix!r} (use .jsonl or .parquet)")
    return [_pair(row, path, number) for number, row in rows]


def _jsonl_rows(path: Path) -> list[tuple[int, Any]]:
    rows = []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                raise PairsFileError(f"pairs file {path}, line {number}: invalid JSON ({exc})") from None
    return rows


def _parquet_rows(path: Path) -> list[tuple[int, Any]]:
    try:
        schema = pq.read_schema(path)
        columns = [c for c in COLUMNS if c in schema.names]
        table = pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise PairsFileError(f"pairs file {path}: not a readable Parquet file ({exc})") from None
    return list(enumerate(table.to_pylist(), start=1))


def _image_id(row: dict[str, Any], column: str, where: str) -> str:
    value = row.get(column)
    if not isinstance(value, str) or not value:
        raise PairsFileError(f"{where}: {column} must be a non-empty string, got {value!r}")
    return value


def _pair(row: Any, path: Path, number: int) -> ClickPair:
    where = f"pairs file {path}, row {number}"
    if not isinstance(row, dict):
        raise PairsFileError(f"{where}: expected an object with {', '.join(COLUMNS)}")
    query, result = _image_id(row, "query_image_id", where), _image_id(row, "result_image_id", where)
    weight = row.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
        raise PairsFileError(f"{where}: weight must be a finite number >= 0, got {weight!r}")
    experiment = row.get("experiment")
    if experiment is not None and (not isinstance(experiment, str) or not experiment):
        raise PairsFileError(f"{where}: experiment must be a non-empty string when given, got {experiment!r}")
    clicks = row.get("clicks", 1)
    if isinstance(clicks, bool) or not isinstance(clicks, int) or clicks < 1:
        raise PairsFileError(f"{where}: clicks must be an integer >= 1, got {clicks!r}")
    return ClickPair(query, result, float(weight), experiment, clicks)
