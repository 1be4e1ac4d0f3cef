"""Small real artifacts for search_core tests: a folder catalog of Fashion-MNIST images, the raw pixels
encoder (784-d) and Flat / HNSW index artifacts built by `build_index_artifact`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faiss
import pytest

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.index_artifact import build_index_artifact
from search_core.milvus_index import connect
from search_core.training import build_pixels_encoder
from tests.search_core.small_catalog import write_fashion_folder

PER_CLASS = 30


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """`<class>/<n>.png`, PER_CLASS Fashion-MNIST images per class (about 30 of them are queries)."""
    return load_catalog(str(write_fashion_folder(tmp_path_factory.mktemp("small-catalog"), PER_CLASS)))


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory, small_catalog: Catalog) -> ArtifactStore:
    """Encoder pixels@1 (784-d); indexes pixels-flat@1 and pixels-hnsw32@1 (efSearch 64 by default)."""
    store = ArtifactStore(tmp_path_factory.mktemp("artifacts"))
    build_pixels_encoder(store, name="pixels", catalog=small_catalog)
    build_index_artifact(store, name="pixels-flat", encoder_ref="pixels@1", catalog=small_catalog, factory="Flat")
    build_index_artifact(
        store, encoder_ref="pixels@1", catalog=small_catalog, factory="HNSW32", params={"efSearch": 64}
    )
    return store


@pytest.fixture(scope="session")
def milvus_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded Milvus (milvus-lite, a local file) for the session's Milvus-backed indexes."""
    client = connect(str(tmp_path_factory.mktemp("milvus") / "milvus.db"))
    yield client
    client.close()


@pytest.fixture(scope="session", autouse=True)
def one_faiss_thread() -> None:
    """Faiss with one thread: on a busy 2-core machine each OpenMP region can wait a whole time slice for its
    second thread, which turned a 0.1 s PQ training into 10 s; the tests' data is too small to gain from two."""
    faiss.omp_set_num_threads(1)
