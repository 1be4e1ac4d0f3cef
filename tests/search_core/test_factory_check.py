"""Factory strings are checked against a grammar before Faiss sees them: some it accepts abort the process later.

Regression tests (`vsx index build --factory HNSW0` died of SIGABRT inside Faiss). Every string
below that once crashed or hung a build (found by building 3,000 random 64-d vectors in a subprocess: SIGABRT,
SIGSEGV, SIGFPE or minutes of NSG graph building) is refused by `check_factory`, so Faiss never gets it.
"""

from __future__ import annotations

import numpy as np
import pytest

from search_core.errors import InvalidFactoryError
from search_core.factory_check import check_factory
from search_core.index import SearchIndex

CRASHED_FAISS = ["HNSW0", "HNSW1", "IVF10_HNSW0,Flat", "IVF2_HNSW1,Flat", "PQ16x0", "IVF10,PQ16x0", "OPQ16_0,PQ16",
                 "RR0,Flat", "PCAR0,Flat", "HNSW32,SQ0", "RQ1x0", "NSG32", "NSG0"]  # fmt: skip


@pytest.mark.parametrize("factory", CRASHED_FAISS)
def test_strings_that_crashed_faiss_are_refused(factory: str) -> None:
    with pytest.raises(InvalidFactoryError, match=f"bad Faiss factory string '{factory}'"):
        check_factory(factory, 64)


@pytest.mark.parametrize(
    ("factory", "why"),
    [
        ("HNSW0", "HNSW's M is 0; it must be from 2 to 256"),
        ("IVF0,Flat", "IVF's list count is 0"),
        ("IVF16", "IVF16 needs a code after it"),
        ("PCA65,Flat", "PCA's output dimension is 65; it must be from 1 to 64"),
        ("PCA32,PQ3", "PQ's m=3 must divide the dimension 32"),
        ("OPQ5,PQ16", "OPQ's M=5 must divide its output dimension 64"),
        ("IDMap,Flat", "'IDMap' is not a supported component"),
        ("Flat,HNSW32", "unexpected 'HNSW32' after 'Flat'"),
        ("HNSW99999999", "is not a supported component"),  # more digits than any real parameter
        ("", "must be 1 to 200 characters"),
        ("Flat," * 100, "must be 1 to 200 characters"),
    ],
)
def test_refusals_say_why(factory: str, why: str) -> None:
    with pytest.raises(InvalidFactoryError, match=why):
        check_factory(factory, 64)


@pytest.mark.parametrize(
    "factory",
    ["Flat", "Flat,RFlat", "HNSW2", "HNSW32", "HNSW32,Flat", "IVF16,Flat", "IVF16_HNSW32,Flat", "IVF32,PQ8x4np,RFlat",
     "IVF16,SQ8", "PQ16x4", "PQ8x4", "PQ8x4np", "SQ4", "SQ6", "SQ8", "SQfp16", "SQbf16", "PCA32,IVF16,PQ16x4,RFlat",
     "OPQ16_32,IVF16,PQ16x4", "RR64,Flat", "L2norm,Flat", "PCAW32,Flat", "PCAWR32,HNSW16"],
)  # fmt: skip
def test_supported_strings_build_and_search(factory: str) -> None:
    x = np.random.default_rng(0).standard_normal((1_000, 64)).astype(np.float32)
    index = SearchIndex.build(x, [f"i{i}" for i in range(len(x))], factory)
    assert len(index.search(x[:1], 5)[0].ids) == 5
