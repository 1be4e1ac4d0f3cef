"""Client-side parameter rendering shared by both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from event_logging.chdb_store import ChdbStore
from event_logging.config import ClickHouseConfig
from event_logging.errors import InvalidIdentifierError, QueryParameterError
from event_logging.sql_text import literal, render


def test_literals() -> None:
    assert literal("it's\n") == "'it\\'s\\n'"
    assert literal(3) == "3" and literal(2.5) == "2.5" and literal(True) == "1"
    assert literal(None) == "NULL"
    assert literal(date(2024, 1, 2)) == "'2024-01-02'"
    assert literal(datetime(2024, 1, 2, 3, 4, 5)) == "'2024-01-02 03:04:05'"
    plus_two = timezone(timedelta(hours=2))
    assert literal(datetime(2024, 1, 2, 5, 4, 5, tzinfo=plus_two)) == "'2024-01-02 03:04:05'"
    assert literal(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "'2024-01-02 03:04:05'"
    assert literal(["a", 1]) == "['a', 1]" and literal(("a", "b")) == "('a', 'b')"
    event_id = uuid.UUID(int=1)
    assert literal(event_id) == f"'{event_id}'"


def test_render_only_with_params() -> None:
    assert render("SELECT '%'", None) == "SELECT '%'"
    assert render("SELECT %(x)s, '%%'", {"x": "v"}) == "SELECT 'v', '%'"


def test_numbers_render_by_kind_and_other_types_are_refused() -> None:
    """Regression: unknown types fell back to `repr()`, which is not SQL (a set, bytes, an object's repr)."""
    assert literal(np.int64(5)) == "5" and literal(np.float32(0.5)) == "0.5"
    assert literal(float("nan")) == "nan" and literal(float("-inf")) == "-inf"
    for value in (b"bytes", {1, 2}, object(), Decimal("1.5"), {"a": 1}):
        with pytest.raises(QueryParameterError, match=type(value).__name__):
            render("SELECT %(x)s", {"x": value})


@pytest.mark.parametrize("name", ["vsx; DROP DATABASE vsx", "a b", "1abc", "db.events", "", "x" * 65, "`vsx`"])
def test_database_and_cluster_names_must_be_plain_identifiers(name: str, tmp_path: Path) -> None:
    """Regression: names from settings went into SQL unchecked (both stores' DDL and table names, migrations)."""
    with pytest.raises(InvalidIdentifierError, match="plain SQL identifier"):
        ChdbStore(tmp_path, database=name)
    if name:  # a url without a database means `vsx`
        with pytest.raises(ValidationError, match="plain SQL identifier"):
            ClickHouseConfig(url=f"clickhouse://127.0.0.1:9000/{name}")
    with pytest.raises(ValidationError, match="clickhouse.cluster"):
        ClickHouseConfig(cluster=name)


def test_valid_identifiers_pass() -> None:
    assert ClickHouseConfig(url="clickhouse://127.0.0.1:9000/t_events_2", cluster="prod_1").cluster == "prod_1"
    assert ClickHouseConfig(url="clickhouse://127.0.0.1:9000").url.endswith("9000")  # database: vsx
