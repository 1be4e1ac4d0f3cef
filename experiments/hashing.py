"""Stable bucketing of a unit (user id) under a salt: the one hash every process and machine agrees on.

Python's `hash()` is salted per process (PYTHONHASHSEED), so it would move users between variants on
every restart; we hash the planout-style dot-joined string `"{salt}.{unit_id}"` with SHA-256 instead.
`hash_version` pins the scheme: an experiment keeps the version it started with, so a future scheme
(v2) can be added next to v1 without re-randomising anything that is running.
"""

from __future__ import annotations

from hashlib import sha256

from experiments.errors import UnsupportedHashVersionError

BUCKETS = 10_000
"""Buckets per layer; traffic, offsets and weights resolve to multiples of 1/10,000."""

HASH_VERSIONS: tuple[int, ...] = (1,)


def bucket(salt: str, unit_id: str, hash_version: int = 1) -> int:
    """The bucket in [0, 10000) of `unit_id` under `salt`.

    v1: the first 8 bytes of SHA-256(`"{salt}.{unit_id}"` as UTF-8), big-endian, modulo 10,000
    (the modulo bias of a 64-bit integer over 10,000 buckets is below 1e-15).
    """
    if hash_version != 1:
        raise UnsupportedHashVersionError(
            f"hash_version {hash_version} is not supported (supported: {', '.join(map(str, HASH_VERSIONS))})"
        )
    return int.from_bytes(sha256(f"{salt}.{unit_id}".encode()).digest()[:8], "big") % BUCKETS
