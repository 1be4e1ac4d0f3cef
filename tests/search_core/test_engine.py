"""VisualSearch end to end on real small artifacts: pixels encoder, Flat/HNSW indexes, re-ranking."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from search_core.artifacts import ArtifactStore
from search_core.catalog import Catalog
from search_core.encoders import load_encoder
from search_core.engine import VisualSearch
from search_core.errors import DimensionMismatchError, InvalidSearchParamsError
from search_core.index import SearchIndex, load_index
from search_core.rerank import build_rerank


@pytest.fixture(scope="module")
def engine(small_store: ArtifactStore) -> VisualSearch:
    return VisualSearch(load_encoder(small_store, "pixels@1"), load_index(small_store, "pixels-flat@1"))


def test_a_gallery_image_finds_itself_first(engine: VisualSearch, small_catalog: Catalog) -> None:
    image_id = small_catalog.gallery_ids[5]
    hits = engine.search(small_catalog.image(image_id), 10)
    assert len(hits) == 10 and hits[0].image_id == image_id
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_drop_query_and_dedupe_still_fill_k(small_store: ArtifactStore, small_catalog: Catalog) -> None:
    rerank = build_rerank([{"name": "drop_query"}, {"name": "dedupe", "threshold": 0.9}])
    engine = VisualSearch(load_encoder(small_store, "pixels@1"), load_index(small_store, "pixels-flat@1"), rerank, 50)
    image_id = small_catalog.gallery_ids[5]
    hits = engine.search(small_catalog.image(image_id), 10, query_image_id=image_id)
    assert len(hits) == 10 and image_id not in {h.image_id for h in hits}
    vectors = engine.index.vectors([h.image_id for h in hits])
    similarity = vectors @ vectors.T
    assert (similarity[~np.eye(10, dtype=bool)] <= 0.9 + 1e-6).all()


def test_batch_equals_single_searches(engine: VisualSearch, small_catalog: Catalog) -> None:
    ids = small_catalog.query_ids[:4]
    batch = engine.search_batch(small_catalog.images(ids), 5)
    assert batch == [engine.search(small_catalog.image(i), 5) for i in ids]


def test_search_vectors_uses_stored_embeddings(engine: VisualSearch, small_catalog: Catalog) -> None:
    image_id = small_catalog.gallery_ids[0]
    by_vector = engine.search_vectors(engine.index.vectors([image_id]), 5)[0]
    assert [h.image_id for h in by_vector] == [h.image_id for h in engine.search(small_catalog.image(image_id), 5)]


class _CountingEncoder:
    """The real pixels encoder, counting the images it embeds."""

    def __init__(self, encoder: object) -> None:
        self.inner, self.embedded = encoder, 0
        self.ref, self.dim = encoder.ref, encoder.dim

    def embed(self, images: object, batch_size: int = 512) -> np.ndarray:
        vectors = self.inner.embed(images, batch_size)
        self.embedded += len(vectors)
        return vectors


def test_a_catalog_image_in_the_index_is_searched_by_its_stored_vector(
    small_store: ArtifactStore, small_catalog: Catalog
) -> None:
    encoder = _CountingEncoder(load_encoder(small_store, "pixels@1"))
    rerank = build_rerank([{"name": "drop_query"}, {"name": "dedupe", "threshold": 0.9}])
    engine = VisualSearch(encoder, load_index(small_store, "pixels-flat@1"), rerank, 50)
    for image_id in small_catalog.gallery_ids[:5]:
        image = small_catalog.image(image_id)
        stored = engine.search_catalog_image(image_id, partial(np.asarray, image), 10)
        assert encoder.embedded == 0
        embedded = engine.search(image, 10, query_image_id=image_id)  # drop_query applies to both
        assert [h.image_id for h in stored] == [h.image_id for h in embedded]
        assert [h.score for h in stored] == pytest.approx([h.score for h in embedded], abs=1e-5)
        encoder.embedded = 0


def test_a_catalog_image_the_index_lacks_is_embedded(small_store: ArtifactStore, small_catalog: Catalog) -> None:
    encoder = _CountingEncoder(load_encoder(small_store, "pixels@1"))
    index = load_index(small_store, "pixels-flat@1", mmap=False)
    removed = small_catalog.gallery_ids[3]
    index.remove([removed])
    engine = VisualSearch(encoder, index, build_rerank([{"name": "drop_query"}]))
    held_out = small_catalog.query_ids[0]
    for image_id in (held_out, removed):
        hits = engine.search_catalog_image(image_id, partial(small_catalog.image, image_id), 5)
        assert len(hits) == 5 and image_id not in {h.image_id for h in hits}
    assert encoder.embedded == 2


def test_query_params_reach_the_index(small_store: ArtifactStore, small_catalog: Catalog) -> None:
    engine = VisualSearch(load_encoder(small_store, "pixels@1"), load_index(small_store, "pixels-hnsw32@1"))
    image = small_catalog.image(small_catalog.query_ids[0])
    assert len(engine.search(image, 10, params={"efSearch": 200})) == 10
    with pytest.raises(InvalidSearchParamsError, match="nprobe"):
        engine.search(image, 10, params={"nprobe": 4})


def test_encoder_and_index_of_different_dimensions_are_refused(small_store: ArtifactStore) -> None:
    index = SearchIndex.build(np.eye(16, dtype=np.float32), [f"v{i}" for i in range(16)], "Flat")
    with pytest.raises(DimensionMismatchError, match="pixels@1 embeds 784-d vectors, the index holds 16-d"):
        VisualSearch(load_encoder(small_store, "pixels@1"), index)
