"""Faiss and Milvus serving the same index artifact: recall@10 against exact search and single-query p50/p99.

The Fashion-MNIST gallery (60,000 images) embedded by the pixels encoder with PCA-64; for each factory, one
index artifact is built with `SearchIndex.build` and served both ways: by Faiss in this process, and by
`MilvusIndex` from a collection in milvus-lite (the embedded Milvus, a local file; a cluster adds a network
hop per query). Recall@10 of the first `--queries` test-split images (one batched call per backend) against exact
inner-product search over the stored vectors; latency of `--timed` of them searched one at a time, alternating
the two backends query by query.

    .venv/bin/python -P benchmarks/milvus_backend.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from search_core.encoders import load_encoder
from search_core.index import SearchIndex
from search_core.index_artifact import embed_catalog
from search_core.metrics import ann_recall
from search_core.milvus_index import MilvusIndex, connect
from search_core.training import build_pixels_encoder

CASES = (("Flat", {}), ("HNSW32", {"efSearch": 64}), ("IVF256,Flat", {"nprobe": 8}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--timed", type=int, default=100)
    args = parser.parse_args()
    catalog = load_catalog("fashion-mnist")
    with tempfile.TemporaryDirectory(prefix="vsx-milvus-") as folder:
        store = ArtifactStore(Path(folder) / "artifacts")
        build_pixels_encoder(store, name="pixels", catalog=catalog, pca_dim=64)
        encoder = load_encoder(store, "pixels@1")
        gallery = embed_catalog(encoder, catalog, catalog.gallery_ids)
        xq = embed_catalog(encoder, catalog, catalog.query_ids[: args.queries])
        client = connect(str(Path(folder) / "milvus.db"))
        print(f"{'index':<14} {'params':<14} {'backend':<8} {'load s':>7} {'rec@10':>7} {'p50 ms':>7} {'p99 ms':>7}")
        for factory, params in CASES:
            faiss_index = SearchIndex.build(gallery, catalog.gallery_ids, factory, params=params)
            started = time.perf_counter()
            milvus_index = MilvusIndex(faiss_index, client, f"bench_{factory.replace(',', '_').lower()}")
            load_s = {"faiss": 0.0, "milvus": time.perf_counter() - started}
            truth = faiss_index.exact_search(xq, 10)
            backends = {"faiss": faiss_index, "milvus": milvus_index}
            found = {name: index.search(xq, 10) for name, index in backends.items()}
            times: dict[str, list[float]] = {name: [] for name in backends}
            for i in range(args.timed):
                order = list(backends) if i % 2 == 0 else list(reversed(backends))
                for name in order:
                    t0 = time.perf_counter()
                    backends[name].search(xq[i : i + 1], 10)
                    times[name].append((time.perf_counter() - t0) * 1000)
            for name in backends:
                p50, p99 = np.percentile(times[name], [50, 99])
                label = ",".join(f"{k}={v}" for k, v in params.items()) or "-"
                print(
                    f"{factory:<14} {label:<14} {name:<8} {load_s[name]:>7.1f} "
                    f"{ann_recall(found[name], truth, 10):>7.3f} {p50:>7.2f} {p99:>7.2f}",
                    flush=True,
                )
        client.close()


if __name__ == "__main__":
    main()
