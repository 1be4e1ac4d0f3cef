"""One catalog-image search the way serving runs it, against the way it ran before, in the same process.

Serving answers `{"image_id": ...}` with a small CNN, an index of the 60,000 Fashion-MNIST gallery images and
`drop_query` + `dedupe` re-ranking over 100 candidates (what the demo's experiments serve). Three ways, query
by query in turn so that machine noise hits them alike:

- before: the image embedded by the encoder, then re-ranked with numpy's BLAS at its default thread count;
- one BLAS thread: the same, with numpy's BLAS held to one thread (what `serving.app` does while it serves):
  the re-ranking products no longer wait for BLAS threads competing with torch's still-spinning OpenMP workers;
- stored vector: also the index's stored vector as the query (`VisualSearch.search_catalog_image`), no
  encoder pass.

The encoder is randomly initialised (speed does not depend on the weights); `--factory` picks the index.

    .venv/bin/python -P benchmarks/search_path.py                    # Flat and HNSW32, 400 queries each
    .venv/bin/python -P benchmarks/search_path.py --queries 100 --factory HNSW32
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from threadpoolctl import threadpool_limits

from search_core.artifacts import Manifest
from search_core.catalog import load_catalog
from search_core.encoders import Encoder, EncoderSpec
from search_core.engine import VisualSearch
from search_core.index import SearchIndex
from search_core.index_artifact import embed_catalog
from search_core.rerank import build_rerank

SPEC = EncoderSpec("small_cnn", {"dim": 128, "input_size": 28, "width": 16, "pool": 7})
RERANK = [{"name": "drop_query"}, {"name": "dedupe", "threshold": 0.995}]


def timed(search: Callable[[], object], blas_threads: int | None) -> float:
    """Milliseconds of one search, with numpy's BLAS limited to `blas_threads` (None: as configured)."""
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        started = time.perf_counter()
        search()
        return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--factory", nargs="+", default=["Flat", "HNSW32"])
    args = parser.parse_args()

    catalog = load_catalog()
    module = SPEC.build().eval()
    encoder = Encoder(module, Manifest(kind="encoder", name="cnn", version=1, catalog="fashion-mnist", dim=128))
    ids = catalog.gallery_ids
    vectors = embed_catalog(encoder, catalog, ids)
    queries = [ids[i] for i in np.random.default_rng(0).choice(len(ids), args.queries, replace=False)]
    print(f"{'index':<8} {'before ms':>10} {'1 BLAS thread':>14} {'stored vector':>14} {'speed-up':>9}  (median)")
    for factory in args.factory:
        index = SearchIndex.build(vectors, ids, factory, labels=catalog.labels_for(ids))
        engine = VisualSearch(encoder, index, build_rerank(RERANK))
        times: dict[str, list[float]] = {"before": [], "one": [], "stored": []}
        for image_id in queries:
            image = catalog.image(image_id)
            embedded = partial(engine.search, image, 10, query_image_id=image_id)
            times["before"].append(timed(embedded, None))
            times["one"].append(timed(embedded, 1))
            stored = partial(engine.search_catalog_image, image_id, partial(catalog.image, image_id), 10)
            times["stored"].append(timed(stored, 1))
        before, one, by_vector = (float(np.median(times[key])) for key in ("before", "one", "stored"))
        print(f"{factory:<8} {before:>10.2f} {one:>14.2f} {by_vector:>14.2f} {before / by_vector:>8.1f}x")


if __name__ == "__main__":
    main()
