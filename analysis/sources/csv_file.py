"""A per-user file as a source: one CSV row per user, optionally gzipped.

For analyses whose events live elsewhere (another warehouse, a notebook): columns `user_id`, `variant`, then per
user the totals the metric definitions name (each measure's `per_user_column`: `clicks`, `impressions`,
`dwell_ms`, ... for the built-in metrics, whatever a team's metric files say for theirs), their `pre_*`
pre-period twins for CUPED, and text columns holding segment values (`--segment platform`). Other columns are
ignored with a note; a metric whose columns are absent is left out by `analyze` with a note. Capping is applied
here, as the SQL does it: the percentile over all users of the file (arms pooled). Bad input names its line and
column.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.capping import apply_cap
from analysis.column_plan import ColumnPlan, column_plan
from analysis.errors import NoDataError, PerUserFileError
from analysis.moments import Moments
from analysis.plan import AnalysisPlan
from analysis.segments import top_values
from analysis.sources.data import CapResult, ExperimentData

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


@dataclass(frozen=True, eq=False)
class PerUserTable:
    """The rows of a per-user file: numeric `columns` as a users × columns matrix, each user's variant, the text
    columns asked for (segments), and notes (ignored columns)."""

    columns: tuple[str, ...]
    values: np.ndarray
    variants: np.ndarray
    text: dict[str, np.ndarray]
    notes: tuple[str, ...]


def read_header(path: Path) -> tuple[str, ...]:
    """The column names of a per-user file (checked: user_id and variant present, no duplicates)."""
    path = Path(path)
    try:
        with _open_text(path) as text:
            return tuple(_header(csv.reader(text), path))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise PerUserFileError(f"{path}: cannot parse as (gzipped) CSV: {exc}") from exc


def read_per_user_file(path: Path, numeric: Collection[str], text: Collection[str] = ()) -> PerUserTable:
    """The file's users: the `numeric` columns it has, the `text` columns (which must be there). Raises
    `PerUserFileError` naming line and column, `NoDataError` without rows."""
    path = Path(path)
    try:
        with _open_text(path) as handle:
            return _read_rows(csv.reader(handle), path, numeric, text)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise PerUserFileError(f"{path}: cannot parse as (gzipped) CSV: {exc}") from exc


def _read_rows(reader: Any, path: Path, numeric: Collection[str], text: Collection[str]) -> PerUserTable:
    names = _header(reader, path)
    missing_text = [c for c in text if c not in names]
    if missing_text:
        raise PerUserFileError(f"{path}: no segment column(s) {', '.join(missing_text)} (has: {', '.join(names)})")
    found = [c for c in names if c in numeric and c not in KEY_COLUMNS]
    if not found:
        raise PerUserFileError(
            f"{path}: no metric columns in the header (has: {', '.join(names)}; "
            f"expected some of: {', '.join(sorted(numeric))})"
        )
    ignored = [n for n in names if n not in KEY_COLUMNS and n not in found and n not in text]
    positions = [names.index(c) for c in found]
    text_positions = {c: names.index(c) for c in text}
    user_pos, variant_pos = names.index("user_id"), names.index("variant")
    values: list[list[float]] = []
    variants: list[str] = []
    texts: dict[str, list[str]] = {c: [] for c in text}
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
        values.append([_number(fields[i], where, c) for i, c in zip(positions, found, strict=True)])
        variants.append(variant)
        for column, position in text_positions.items():
            texts[column].append(fields[position].strip())
    if not values:
        raise NoDataError(f"{path}: no user rows after the header")
    notes = (f"ignored column(s) of the per-user file: {', '.join(ignored)}",) if ignored else ()
    logger.info("read %d users in %d variants from %s", len(variants), len(set(variants)), path)
    return PerUserTable(
        tuple(found),
        np.array(values, dtype=float).reshape(len(values), len(found)),
        np.array(variants),
        {c: np.array(v) for c, v in texts.items()},
        notes,
    )


def _capped(table: PerUserTable, columns: ColumnPlan) -> tuple[tuple[str, ...], np.ndarray, dict[str, CapResult]]:
    """The table's columns plus the capped twins whose raw column it has, and each cap (as `moments_sql`)."""
    names, values, caps = list(table.columns), [table.values], {}
    raw_names = columns.raw_names
    for capped in columns.capped:
        raw = raw_names[capped.raw]
        if raw not in table.columns:
            continue
        column = table.values[:, table.columns.index(raw)]
        clipped, cap, users_capped = apply_cap(column, capped.capping)
        names.append(capped.name)
        values.append(clipped[:, None])
        caps[capped.name] = CapResult(capped.name, cap, users_capped, len(column))
    return tuple(names), np.hstack(values), caps


class PerUserFile:
    """`Source` reading a per-user CSV (plain or gzipped)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.label = str(path)

    def header(self) -> tuple[str, ...]:
        return read_header(self.path)

    def load(self, plan: AnalysisPlan) -> ExperimentData:
        """Moments per arm (and per segment value) of the columns the plan's metrics read; no events, so no
        quantiles, days or lift over time."""
        metrics = [plan.catalog.get(name) for name in plan.measured_metrics]
        columns = column_plan(metrics, plan.segments)
        table = read_per_user_file(self.path, set(columns.raw_names), plan.segments)
        names, values, caps = _capped(table, columns)
        arms = {v: Moments.from_values(names, values[table.variants == v]) for v in sorted(set(table.variants))}
        segments = {}
        for attribute in plan.segments:
            labels = table.text[attribute]
            by_value = {
                value: {
                    arm: Moments.from_values(names, values[(labels == value) & (table.variants == arm)]) for arm in arms
                }
                for value in sorted(set(labels))
            }
            segments[attribute] = top_values(by_value)
        return ExperimentData(source=self.label, arms=arms, segments=segments, caps=caps, notes=table.notes)
