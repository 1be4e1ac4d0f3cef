"""ANN indexes: build time, bytes/vector, batch QPS, single-query p50/p99 and recall@10 vs exact search.

Two galleries: Fashion-MNIST's 60k training images embedded by the project's pixels encoder with PCA-64
(`build_pixels_encoder(pca_dim=64)`, queries = the test split), and a synthetic clustered 1M x 64 set
(1000 Gaussian clusters; queries drawn the same way). Every index is built once through `SearchIndex`,
then timed two ways in the same run on the same queries: bare Faiss (`faiss_index.search`, parameters set
on the index as a Faiss user would) and the project path (`SearchIndex.search`: query checks and
normalisation, per-call SearchParameters, rows mapped to string ids, a `Hits` per query), plus the project
path with re-ranking (`drop_query` + `dedupe` over 30 candidates). Single-query timings alternate bare and
project query by query, so load from other processes on this shared machine hits both alike; they use one
Faiss thread (batch QPS uses all). The re-ranked path is timed in a pass of its own: between the two
compared calls its work would evict the interpreter's and Faiss's caches for whichever call followed it.
Recall@10 is against exact inner-product search.

Goals: at 1M, an index with recall@10 >= 0.95 at >= 50x Flat's batch QPS; the project path's single-query
p50 within 1.3x of bare Faiss's.

    .venv/bin/python benchmarks/ann.py            # 60k Fashion-MNIST + 1M synthetic (several minutes)
    .venv/bin/python benchmarks/ann.py --quick    # 60k Fashion-MNIST (2k queries) + 100k synthetic

`ivf-fine` (`IVF4096,Flat` at 1M) trades the batch's list scans for a costlier single-query coarse search:
a test of whether any setting meets both goals (BENCHMARKS.md, "ANN indexes").
`PQ16np` is `PQ16` without polysemous training (a code ordering used only by Hamming filtering, which we do
not use; it costs minutes of training). `refine=R` re-scores R·10 PQ candidates exactly with the stored
vectors; `RFlat` is Faiss's own refine stage (a second copy of the vectors inside the index).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from search_core.encoders import load_encoder
from search_core.index import SearchIndex
from search_core.index_artifact import embed_catalog
from search_core.rerank import build_rerank
from search_core.training import build_pixels_encoder

K = 10
RERANK = build_rerank([{"name": "drop_query"}, {"name": "dedupe", "threshold": 0.98}])


@dataclass(frozen=True)
class Case:
    factory: str
    settings: tuple[dict[str, Any], ...]  # query parameters timed one after another on the same build


KINDS = ("flat", "hnsw", "ivf", "ivf-fine", "ivfpq", "ivfpq-rflat")


def cases(n: int, kinds: tuple[str, ...] = KINDS) -> list[Case]:
    """The index families to time; Flat always comes first (its results are the ground truth)."""
    nlist = 1024 if n >= 500_000 else 256
    by_kind = {
        "hnsw": Case("HNSW32", ({"efSearch": 16}, {"efSearch": 32}, {"efSearch": 64}, {"efSearch": 128})),
        "ivf": Case(f"IVF{nlist},Flat", tuple({"nprobe": n} for n in (1, 2, 3, 4, 8, 16))),
        # 4x the lists, 4x the probes: about as many vectors scanned, but a single query's coarse search (one
        # matrix-vector product, where a batch gets a matrix product) costs more, so the project's fixed
        # Python cost is a smaller share of it
        "ivf-fine": Case(f"IVF{4 * nlist},Flat", ({"nprobe": 4}, {"nprobe": 8}, {"nprobe": 16})),
        "ivfpq": Case(f"IVF{nlist},PQ16np", ({"nprobe": 8}, {"nprobe": 8, "refine": 4}, {"nprobe": 16, "refine": 10})),
        "ivfpq-rflat": Case(f"IVF{nlist},PQ16np,RFlat", ({"nprobe": 8, "k_factor": 4},)),
    }
    return [Case("Flat", ({},)), *(case for kind, case in by_kind.items() if kind in kinds)]


def clustered(n: int, dim: int, seed: int, centres: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, len(centres), n)] + 0.25 * rng.standard_normal((n, dim), dtype=np.float32)
    return points.astype(np.float32)


def synthetic(n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    centres = np.random.default_rng(0).standard_normal((1000, 64), dtype=np.float32)
    return clustered(n, 64, 1, centres), clustered(queries, 64, 2, centres)


def fashion_pixels_pca(queries: int) -> tuple[np.ndarray, np.ndarray]:
    """Gallery and query embeddings from the project's pixels encoder with PCA to 64 dimensions."""
    catalog = load_catalog("fashion-mnist")
    with tempfile.TemporaryDirectory() as folder:
        store = ArtifactStore(Path(folder))
        build_pixels_encoder(store, name="pixels-pca64", catalog=catalog, pca_dim=64)
        encoder = load_encoder(store, "pixels-pca64@1")
        return embed_catalog(encoder, catalog, catalog.gallery_ids), embed_catalog(
            encoder, catalog, catalog.query_ids[:queries]
        )


def per_query_ms(searches: list[Callable[[np.ndarray], object]], xq: np.ndarray, threads: int = 1) -> list[np.ndarray]:
    """Each search timed on every query row, alternating which goes first, so noise hits all alike.

    One Faiss thread by default, as a server running one search per request thread would: with more, a query
    can open an OpenMP region whose other threads, on a busy machine, wait for a scheduler slice
    (BENCHMARKS.md, "ANN indexes"). `--query-threads` times what a process that keeps all its threads sees.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    times = np.zeros((len(searches), len(xq)))
    for i in range(len(xq)):
        order = range(len(searches)) if i % 2 == 0 else reversed(range(len(searches)))
        row = xq[i : i + 1]
        for s in order:
            started = time.perf_counter()
            searches[s](row)
            times[s, i] = (time.perf_counter() - started) * 1000
    faiss.omp_set_num_threads(previous)
    return list(times)


def batch_qps(search: Callable[[np.ndarray], object], xq: np.ndarray, repeats: int = 3, seconds: float = 2.0) -> float:
    """All queries in one call, best of at least `repeats` runs and of `seconds` of runs: a batch is short, and a
    few runs are at the mercy of one busy moment on a shared machine. (The first run after a build also pays for
    the garbage collector scanning the freshly built id arrays and dict.)"""
    best, spent, runs = float("inf"), 0.0, 0
    while runs < repeats or spent < seconds:
        started = time.perf_counter()
        search(xq)
        elapsed = time.perf_counter() - started
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return len(xq) / best


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found.tolist(), truth.tolist(), strict=True)]))


def bare_settings(index: faiss.Index, params: dict[str, Any]) -> None:
    """Bare Faiss usage: set the parameters on the index (not thread-safe, which is why we do not)."""
    space = faiss.ParameterSpace()
    names = {"efSearch": "efSearch", "nprobe": "nprobe", "k_factor": "k_factor_rf"}  # ParameterSpace's spelling
    for name, value in params.items():
        if name in names:
            space.set_index_parameter(index, names[name], float(value))


def run_dataset(
    name: str,
    gallery: np.ndarray,
    xq: np.ndarray,
    latency_queries: int,
    kinds: tuple[str, ...] = KINDS,
    query_threads: int = 1,
) -> list[dict[str, Any]]:
    ids = [f"{name}-{i:07d}" for i in range(len(gallery))]
    xq = xq / np.linalg.norm(xq, axis=1, keepdims=True)
    rows = []
    truth: np.ndarray | None = None
    for case in cases(len(gallery), kinds):
        started = time.perf_counter()
        index = SearchIndex.build(gallery, ids, case.factory)
        build_s = time.perf_counter() - started
        bare = index.faiss_index
        index_bytes = len(faiss.serialize_index(bare)) / len(gallery)
        if truth is None:  # the first case is Flat: its results are the exact ground truth
            truth = bare.search(xq, K)[1]
        for params in case.settings:
            bare_settings(bare, params)
            p = params or None

            def bare_search(x: np.ndarray, index: faiss.Index = bare) -> object:
                return index.search(x, K)

            def project_search(x: np.ndarray, index: SearchIndex = index, p: dict | None = p) -> object:
                return index.search(x, K, p)

            def reranked(x: np.ndarray, index: SearchIndex = index, p: dict | None = p) -> object:
                return [RERANK(x[0], hits, index, k=K)[:K] for hits in index.search(x, 3 * K, p)]

            found = np.array([[int(h.image_id.rsplit("-", 1)[1]) for h in hits] for hits in index.search(xq, K, p)])
            qps_bare, qps_project = batch_qps(bare_search, xq), batch_qps(project_search, xq)
            single = per_query_ms([bare_search, project_search], xq[:latency_queries], query_threads)
            single.append(per_query_ms([reranked], xq[:latency_queries], query_threads)[0])
            rows.append(
                {
                    "data": name,
                    "index": case.factory,
                    "params": ",".join(f"{k}={v}" for k, v in params.items()) or "-",
                    "build_s": build_s,
                    "bytes": index_bytes,
                    "recall": recall(found, truth),
                    "recall_bare": recall(bare_search(xq)[1], truth),
                    "qps_bare": qps_bare,
                    "qps_project": qps_project,
                    "p50": [float(np.percentile(t, 50)) for t in single],
                    "p99": [float(np.percentile(t, 99)) for t in single],
                }
            )
            print_row(rows[-1])
    return rows


HEADER = (
    f"{'data':<8} {'index':<22} {'params':<20} {'build s':>8} {'B/vec':>7} {'rec@10':>7} {'bare':>7} "
    f"{'QPS bare':>9} {'project':>9} {'p50 bare':>9} {'project':>8} {'+rerank':>8} {'ratio':>6} "
    f"{'p99 bare':>9} {'project':>8}"
)


def print_row(r: dict[str, Any]) -> None:
    p50, p99 = r["p50"], r["p99"]
    print(
        f"{r['data']:<8} {r['index']:<22} {r['params']:<20} {r['build_s']:>8.1f} {r['bytes']:>7.0f} "
        f"{r['recall']:>7.3f} {r['recall_bare']:>7.3f} {r['qps_bare']:>9.0f} {r['qps_project']:>9.0f} "
        f"{p50[0]:>9.3f} {p50[1]:>8.3f} {p50[2]:>8.3f} {p50[1] / p50[0]:>6.2f} {p99[0]:>9.3f} {p99[1]:>8.3f}",
        flush=True,
    )


def summary(rows: list[dict[str, Any]]) -> None:
    """The fastest setting at recall@10 >= 0.95, and every setting that meets both goals at once."""
    flat = next(r for r in rows if r["index"] == "Flat")

    def line(r: dict[str, Any]) -> str:
        return (
            f"{r['index']} {r['params']} recall {r['recall']:.3f}, {r['qps_project']:.0f} QPS = "
            f"{r['qps_project'] / flat['qps_project']:.0f}x Flat, project/bare single-query p50 "
            f"{r['p50'][1] / r['p50'][0]:.2f}"
        )

    good = [r for r in rows if r["recall"] >= 0.95 and r["index"] != "Flat"]
    both = [r for r in good if r["qps_project"] >= 50 * flat["qps_project"] and r["p50"][1] <= 1.3 * r["p50"][0]]
    print(f"\n{rows[0]['data']} (Flat {flat['qps_project']:.0f} QPS; goals >= 50x Flat, p50 ratio <= 1.3):")
    print(f"  fastest at recall@10 >= 0.95: {line(max(good, key=lambda r: r['qps_project']))}")
    print("\n".join(f"  meets both: {line(r)}" for r in both) or "  no setting meets both goals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k synthetic vectors, fewer queries")
    parser.add_argument("--only", nargs="+", choices=KINDS, default=KINDS, help="index families (Flat always runs)")
    parser.add_argument(
        "--query-threads", type=int, default=1, help="Faiss threads while timing single queries (default 1)"
    )
    args = parser.parse_args()
    kinds = tuple(args.only)
    n, queries, latency_queries = (100_000, 2000, 300) if args.quick else (1_000_000, 2000, 1000)
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; times in ms; B/vec = index file")
    print("(stored vectors for re-ranking add 256 B/vec at 64 dims, memory-mapped)\n")
    print(HEADER)
    gallery, xq = fashion_pixels_pca(queries)
    fmnist_rows = run_dataset("fmnist", gallery, xq, latency_queries, kinds, args.query_threads)
    gallery, xq = synthetic(n, queries)
    synthetic_rows = run_dataset(f"syn{n // 1000}k", gallery, xq, latency_queries, kinds, args.query_threads)
    summary(fmnist_rows)
    summary(synthetic_rows)


if __name__ == "__main__":
    main()
