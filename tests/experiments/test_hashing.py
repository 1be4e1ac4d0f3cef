"""The bucket hash: frozen golden vectors, the documented scheme, and version handling."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from experiments.errors import UnsupportedHashVersionError
from experiments.hashing import BUCKETS, bucket

CASES = json.loads((Path(__file__).parent / "data" / "assignment_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['salt']}.{c['unit_id']}")
def test_golden_vectors(case: dict) -> None:
    assert bucket(case["salt"], case["unit_id"], case["hash_version"]) == case["bucket"]


def test_v1_is_sha256_of_the_dot_joined_string() -> None:
    """The scheme other languages must reproduce: first 8 bytes of SHA-256("salt.unit"), big-endian, mod 10,000."""
    digest = hashlib.sha256(b"enc-v1.user-1").digest()
    assert bucket("enc-v1", "user-1") == int.from_bytes(digest[:8], "big") % 10_000 == 8109


def test_buckets_cover_the_range_uniformly() -> None:
    values = [bucket("uniformity", f"user-{i}") for i in range(20_000)]
    assert min(values) >= 0 and max(values) < BUCKETS
    assert abs(sum(v < BUCKETS // 2 for v in values) / len(values) - 0.5) < 0.02


def test_unknown_hash_version_is_refused() -> None:
    with pytest.raises(UnsupportedHashVersionError, match="hash_version 2"):
        bucket("salt", "user", hash_version=2)
