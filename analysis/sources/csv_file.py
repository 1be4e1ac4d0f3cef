"""A per-user file as a source: one CSV row per user, optionally gzipped.

For analyses whose events live elsewhere (another warehouse, a notebook): columns `user_id`,
`variant` and any per-user totals of `analysis.moments.PER_USER_COLUMNS` (`searches, impressions,
clicks, dwell_ms, successful_searches, ...` and their `pre_*` pre-period twins). A metric whose columns
are absent is left out by `analyze` with a note. Bad input names its line and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import NoDataError, PerUserFileError
from analysis.moments import PER_USER_COLUMNS, Moments
from analysis.plan import AnalysisPlan
from analysis.sources.data import ExperimentData

logger = logging.getLogger(__name__)

KEY_COLUMNS = ("user_id", "variant")
GZIP_MAGIC = b"\x1f\x8b"


def _open_text(path: Path) -> io.TextIOBase:
    """Text of the file, gunzipped when it starts with the gzip magic bytes (whatever its suffix).

    `utf-8-sig` drops the byte-order mark spreadsheet programs put before the header.
    """
    try:
        with path.open("rb") as probe:
            gzipped = probe.read(2) == GZIP_MAGIC
    except OSError as exc:
        raise PerUserFileError(f"cannot read per-user file {path}: {exc.strerror or exc}") from exc
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _header(rows: Iterator[list[str]], path: Path) -> list[str]:
    for header in rows:
        if header:
            names = [name.strip() for name in header]
            missing = [name for name in KEY_COLUMNS if name not in names]
            if missing:
                raise PerUserFileError(f"{path}: header lacks column(s) {', '.join(missing)} (has: {', '.join(names)})")
            duplicated = sorted({name for name in names if names.count(name) > 1})
            if duplicated:
                raise PerUserFileError(f"{path}: column(s) {', '.join(duplicated)} appear more than once in the header")
            return names
    raise PerUserFileError(f"{path}: empty file (expected a header: user_id,variant,searches,...)")


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = repr(text) if text.strip() else "an empty value"
        raise PerUserFileError(f"{where}: column {column}: {shown} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise PerUserFileError(f"{where}: column {column}: {text!r} must be a finite number >= 0")
    return value


def read_per_user_file(path: Path) -> tuple[dict[str, Moments], tuple[str, ...]]:
    """Moments per variant of the file's users, and notes (ignored columns). Raises `PerUserFileError`."""
    path = Path(path)
    try:
        with _open_text(path) as text:
            return _read_rows(csv.reader(text), path)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise PerUserFileError(f"{path}: cannot parse as (gzipped) CSV: {exc}") from exc


def _read_rows(reader: Any, path: Path) -> tuple[dict[str, Moments], tuple[str, ...]]:
    names = _header(reader, path)
    numeric = [c for c in PER_USER_COLUMNS if c in names]
    if not numeric:
        raise PerUserFileError(
            f"{path}: no metric columns in the header (has: {', '.join(names)}; "
            f"expected some of: {', '.join(PER_USER_COLUMNS)})"
        )
    ignored = [n for n in names if n not in KEY_COLUMNS and n not in PER_USER_COLUMNS]
    positions = [names.index(c) for c in numeric]
    user_pos, variant_pos = names.index("user_id"), names.index("variant")
    rows: dict[str, list[list[float]]] = {}
    first_line: dict[str, int] = {}
    for fields in reader:
        if not fields:
            continue
        where = f"{path}:{reader.line_num}"
        if len(fields) != len(names):
            absent = names[len(fields)] if len(fields) < len(names) else None
            detail = f" (column {absent} is missing)" if absent else ""
            raise PerUserFileError(f"{where}: expected {len(names)} fields, got {len(fields)}{detail}")
        user, variant = fields[user_pos].strip(), fields[variant_pos].strip()
        for column, value in (("user_id", user), ("variant", variant)):
            if not value:
                raise PerUserFileError(f"{where}: column {column}: empty value")
        if user in first_line:
            raise PerUserFileError(f"{where}: user_id {user!r} already appeared on line {first_line[user]}")
        first_line[user] = reader.line_num
        rows.setdefault(variant, []).append(
            [_number(fields[i], where, c) for i, c in zip(positions, numeric, strict=True)]
        )
    if not rows:
        raise NoDataError(f"{path}: no user rows after the header")
    notes = (f"ignored unknown column(s) of the per-user file: {', '.join(ignored)}",) if ignored else ()
    logger.info("read %d users in %d variants from %s", len(first_line), len(rows), path)
    arms = {variant: Moments.from_values(numeric, np.array(values)) for variant, values in sorted(rows.items())}
    return arms, notes


class PerUserFile:
    """`Source` reading a per-user CSV (plain or gzipped)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.label = str(path)

    def load(self, plan: AnalysisPlan) -> ExperimentData:
        """The file's moments; the plan selects nothing here (no events: no quantiles, no days, no periods)."""
        arms, notes = read_per_user_file(self.path)
        return ExperimentData(source=self.label, arms=arms, notes=notes)
