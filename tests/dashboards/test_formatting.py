from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboards.formatting import (
    MISSING,
    confidence_label,
    count,
    fixed,
    metric_label,
    num,
    num_interval,
    p_phrase,
    pct,
    pct_interval,
    pval,
    score,
    timestamp,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.041, "+4.1%"),
        (-0.03, "\u22123.0%"),
        (0.0004, "+0.04%"),
        (0.006, "+0.6%"),
        (-0.00001, "+0.00%"),
        (0.0, "+0.00%"),
        (1.5, "+150.0%"),
        (None, MISSING),
        (float("nan"), MISSING),
        (float("inf"), MISSING),
    ],
)
def test_pct_reads_fractions_as_signed_percentages(value, expected):
    assert pct(value) == expected


def test_pct_unsigned_and_intervals():
    assert pct(0.333, signed=False) == "33.3%"
    assert pct_interval(0.02, 0.062) == "+2.0% to +6.2%"
    assert pct_interval(None, 0.062) == MISSING


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.00003, "<0.0001"), (0.0003, "0.0003"), (0.0412, "0.041"), (0.41, "0.410"), (None, MISSING)],
)
def test_pval(value, expected):
    assert pval(value) == expected


def test_p_phrase_uses_the_right_relation():
    assert p_phrase(0.0003) == "p=0.0003"
    assert p_phrase(0.00001) == "p<0.0001"
    assert p_phrase(None) == "p not available"


def test_num_and_count():
    assert num(0.0523) == "0.0523"
    assert num(-0.00026, signed=True) == "\u22120.00026"
    assert num(0.002132, signed=True) == "+0.002132"
    assert num(12345.6) == "12,346"
    assert num(float("nan")) == MISSING
    assert num_interval(-0.001, 0.003) == "\u22120.001 to +0.003"
    assert count(5037) == "5,037"
    assert count(None) == MISSING
    assert score(1.0) == "1.000"
    assert score(None) == MISSING
    assert fixed(0.1234567, ".4f") == "0.1235"
    assert fixed(0.0412, "+.2%") == "+4.12%"
    assert fixed(None, ".4f") == fixed(float("nan"), ".3g") == MISSING


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ctr", "CTR"),
        ("dwell_seconds", "dwell seconds"),
        ("ndcg@10", "nDCG@10"),
        ("precision@10", "P@10"),
        ("mrr@10", "MRR@10"),
        ("ann_recall@10", "ANN recall@10"),
    ],
)
def test_metric_label(name, expected):
    assert metric_label(name) == expected


def test_confidence_label():
    assert confidence_label(0.05) == "95%"
    assert confidence_label(0.1) == "90%"
    assert confidence_label(0.01) == "99%"


def test_timestamp_is_utc():
    assert timestamp(datetime(2024, 5, 15, 11, 30, tzinfo=timezone(timedelta(hours=2)))) == "2024-05-15 09:30 UTC"
    assert timestamp(datetime(2024, 5, 15, 9, 30)) == "2024-05-15 09:30 UTC"
    assert timestamp(datetime(2024, 5, 15, 9, 30, tzinfo=UTC)) == "2024-05-15 09:30 UTC"
    assert timestamp(None) == MISSING
