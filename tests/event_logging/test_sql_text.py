"""Client-side parameter rendering shared by both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

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
