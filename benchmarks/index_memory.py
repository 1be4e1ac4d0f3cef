"""Compressed indexes at scale: RAM per vector, recall@10 and single-query p50 of IVF-PQ / OPQ with exact refine.

Each index is built with `SearchIndex.build`, saved, and measured in a fresh child process that loads it the
way serving does (`SearchIndex.load(mmap=True)`): the Faiss file memory-mapped, the stored full vectors
(`vectors.npy`) memory-mapped, and the `refine=r` query parameter re-scoring the r·10 PQ candidates exactly
from those mapped vectors. The child reports, from `/proc/self/smaps` after its queries:

- index B/vec: resident pages of `index.faiss` (PQ codes + inverted-list ids + centroids; every query scans
  some lists, so these must stay in RAM) plus the growth of anonymous memory while loading the Faiss index;
- vectors B/vec: resident pages of `vectors.npy` after the queries (only the refined candidates' pages are
  touched; the rest may stay on disk);
- id map B/vec: the string-id map's anonymous memory (heap) plus the resident pages of its memory-mapped
  files (`ids.npy`, `id_hashes.npy`, `id_rows.npy`) after the queries and, once they are timed, a lookup by id
  of every query's hits (`SearchIndex.vectors`, as a re-ranker fetches its candidates).

p50/p99 are single queries with one Faiss thread, over the project's path (`SearchIndex.search`), twice: warm
(the vectors' pages in the page cache) and cold (`vectors.npy` evicted with `posix_fadvise(DONTNEED)` before a
fresh process maps it, so each refined candidate may be a disk read). Recall@10 is against exact search
(Faiss `IndexFlatIP` over all vectors, computed once per data set).

Data: synthetic, the distribution of `benchmarks/ann.py` (1,000 Gaussian clusters in 64 dimensions, σ = 0.25
around standard-normal centres, queries drawn alike), normalised. Its in-cluster noise is isotropic, so
neighbours inside a cluster are nearly equidistant and PQ's error reorders them: a pessimistic case for
compressed codes (real embeddings concentrate in fewer directions, where PQ loses less).

    .venv/bin/python -P benchmarks/index_memory.py --sizes 1000000      # four indexes, six settings each
    .venv/bin/python -P benchmarks/index_memory.py --sizes 10000000 --only PQ32np PQ48np --nprobe 16 --refine 20 50

`--id-map` measures the id map alone (no vectors: 10M ids take a minute, not 15), for two id shapes (`v-123`,
and catalog paths of mixed length), each loaded three ways in a fresh process: the packed map memory-mapped
(what `SearchIndex.load` does now), the packed map built in memory from `ids.txt` (a folder saved before the
packed files), and the Python map it replaced (an object array of the id strings and a dict id → row) as the
same-run baseline. Each process then runs `--lookups` random single-id lookups, 30-id lookups (a re-ranker
fetching its candidates' vectors) and 10-row gathers (a query's hits), timing each, and reports its heap growth
and the resident pages of the packed files:

    .venv/bin/python -P benchmarks/index_memory.py --id-map --sizes 1000000 10000000 --lookups 1000 10000 100000
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from search_core.id_map import PACKED_FILES, IdMap
from search_core.index import SearchIndex

K = 10
DIM = 64
QUERIES = 1000
CACHE = Path("var/bench/index_memory")


def nlist_for(n: int) -> int:
    return 1024 if n <= 2_000_000 else 4096


def configs(n: int, nprobes: list[int], refines: list[int]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(factory, query parameter settings) per index; PQ48 needs OPQ's rotation to 96 dimensions (48 ∤ 64)."""
    nlist = nlist_for(n)
    sweep = [{"nprobe": p, "refine": r} for p in nprobes for r in refines]
    return [
        (f"IVF{nlist},PQ16np", sweep),
        (f"IVF{nlist},PQ32np", sweep),
        (f"OPQ32,IVF{nlist},PQ32np", sweep),
        (f"OPQ48_96,IVF{nlist},PQ48np", sweep),
    ]


def synthetic(n: int, seed: int, chunk: int = 1_000_000) -> np.ndarray:
    """`n` clustered vectors (normalised), generated chunk by chunk so 10M need no second copy."""
    centres = np.random.default_rng(0).standard_normal((1000, DIM), dtype=np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        rng = np.random.default_rng([seed, start])
        m = min(chunk, n - start)
        block = centres[rng.integers(0, len(centres), m)] + 0.25 * rng.standard_normal((m, DIM), dtype=np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def ground_truth(gallery: np.ndarray, xq: np.ndarray) -> np.ndarray:
    flat = faiss.IndexFlatIP(DIM)
    flat.add(gallery)
    return flat.search(xq, K)[1]


def smaps_rss() -> dict[str, int]:
    """Resident bytes per mapped file name, plus `anon` (anonymous mappings and the brk heap)."""
    rss: dict[str, int] = {"anon": 0}
    name = ""
    with open("/proc/self/smaps") as fh:
        for line in fh:
            first = line.split(maxsplit=1)[0]
            if not first.endswith(":"):  # a mapping's header: address range, perms, offset, dev, inode, [path]
                parts = line.split(maxsplit=5)
                name = Path(parts[5].strip()).name if len(parts) == 6 else ""
            elif first == "Rss:":
                size = int(line.split()[1]) * 1024
                kept = name in ("index.faiss", "vectors.npy", *PACKED_FILES)
                key = name if kept else ("anon" if name in ("", "[heap]") else "other")  # malloc uses both
                rss[key] = rss.get(key, 0) + size
    return rss


def evict(path: Path) -> None:
    with path.open("rb") as fh:
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def measure(folder: Path, params: dict[str, Any], data: Path) -> dict[str, Any]:
    """Child process: load mmapped, run the queries twice (cold, then warm), report memory, recall and latency.

    The parent evicted `vectors.npy` from the page cache first, so the first pass reads each refined
    candidate's page from disk unless an earlier query of the pass brought it in; the second pass finds
    every page it needs cached.
    """
    faiss.omp_set_num_threads(1)
    xq, truth = np.load(data / "queries.npy"), np.load(data / "truth.npy")
    before = smaps_rss()
    started = time.perf_counter()
    index = SearchIndex.load(folder, mmap=True)
    load_s = time.perf_counter() - started
    loaded = smaps_rss()
    n = index.faiss_index.ntotal
    faiss_anon = _faiss_anon(folder)
    passes = []
    found_ids: list[list[str]] = []
    for _ in ("cold", "warm"):
        times = np.empty(len(xq))
        found = []
        for i in range(len(xq)):
            t0 = time.perf_counter()
            hits = index.search(xq[i : i + 1], K, params)[0]
            times[i] = (time.perf_counter() - t0) * 1000
            found.append([int(h.rsplit("-", 1)[1]) for h in hits.ids])
            found_ids.append(hits.ids)
        recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth.tolist(), strict=True)]))
        passes.append({"recall": recall, "p50": float(np.median(times)), "p99": float(np.percentile(times, 99))})
        if len(passes) == 1:
            vectors_rss = smaps_rss().get("vectors.npy", 0)
    for hit_ids in found_ids:  # what a re-ranker does per query: its candidates' vectors, looked up by id
        index.vectors(hit_ids)
    after = smaps_rss()
    return {
        "n": n,
        "params": params,
        "load_s": load_s,
        "index_file_bytes": (folder / "index.faiss").stat().st_size,
        "index_rss": after.get("index.faiss", 0),
        "faiss_anon": faiss_anon,
        "vectors_rss": vectors_rss,
        "id_map_anon": loaded["anon"] - before["anon"] - faiss_anon,
        "id_map_rss": sum(after.get(name, 0) for name in PACKED_FILES),
        "cold": passes[0],
        "warm": passes[1],
    }


def _faiss_anon(folder: Path) -> int:
    """Anonymous memory Faiss allocates when it maps the index (centroids, OPQ matrix, list headers)."""
    before = smaps_rss()["anon"]
    index = faiss.read_index(str(folder / "index.faiss"), faiss.IO_FLAG_MMAP_IFC)
    grown = smaps_rss()["anon"] - before
    del index
    return max(grown, 0)


def run_child(folder: Path, params: dict[str, Any], data: Path) -> dict[str, Any]:
    evict(folder / "vectors.npy")
    cmd = [sys.executable, "-P", __file__, "--child", str(folder), "--data", str(data), "--params", json.dumps(params)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def prepare(n: int) -> Path:
    """Gallery, queries and exact top-10 for n vectors, cached on disk (10M x 64 float32 = 2.56 GB)."""
    data = CACHE / f"syn{n}"
    if (data / "truth.npy").exists():
        return data
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gallery = synthetic(n, seed=1)
    np.save(data / "gallery.npy", gallery)
    xq = synthetic(QUERIES, seed=2)
    np.save(data / "queries.npy", xq)
    np.save(data / "truth.npy", ground_truth(gallery, xq))
    print(f"# {n:,} vectors generated, exact top-{K} in {time.perf_counter() - started:.0f} s", flush=True)
    return data


def run_size(n: int, only: list[str] | None, nprobes: list[int], refines: list[int]) -> None:
    data = prepare(n)
    gallery = np.load(data / "gallery.npy", mmap_mode="r")
    ids = [f"v-{i}" for i in range(n)]
    for factory, settings in configs(n, nprobes, refines):
        if only and not any(o in factory for o in only):
            continue
        folder = data / factory.replace(",", "_")
        if not (folder / "search_index.json").exists():
            started = time.perf_counter()
            index = SearchIndex.build(gallery, ids, factory, train_sample=max(100_000, 64 * nlist_for(n)))
            build_s = time.perf_counter() - started
            index.save(folder)
            (folder / "build_s.txt").write_text(f"{build_s:.0f}")
            del index
            gc.collect()
        build_s = float((folder / "build_s.txt").read_text())
        for params in settings:
            report(factory, build_s, run_child(folder, params, data))


def report(factory: str, build_s: float, r: dict[str, Any]) -> None:
    n, cold, warm, id_map = r["n"], r["cold"], r["warm"], r["id_map_anon"] + r["id_map_rss"]
    params = ",".join(f"{k}={v}" for k, v in r["params"].items())
    print(
        f"{n:>10,} {factory:<28} {params:<20} {build_s:>7.0f} {r['index_file_bytes'] / n:>6.1f} "
        f"{(r['index_rss'] + r['faiss_anon']) / n:>6.1f} {r['vectors_rss'] / n:>6.1f} {id_map / n:>6.1f} "
        f"{warm['recall']:>7.3f} {warm['p50']:>7.3f} {warm['p99']:>7.3f} {cold['p50']:>7.3f} {cold['p99']:>7.3f}",
        flush=True,
    )


HEADER = (
    f"{'vectors':>10} {'index':<28} {'params':<20} {'build s':>7} {'file B':>6} {'RAM B':>6} {'vec B':>6} "
    f"{'idmap B':>6} {'rec@10':>7} {'p50 ms':>7} {'p99 ms':>7} {'cold50':>7} {'cold99':>7}"
)


ID_CLASSES = ("bag", "coat", "dress", "shirt", "sandal", "sneaker", "pullover", "trousers", "t-shirt", "ankle-boot")
ID_SHAPES = {
    "v-N": lambda i: f"v-{i}",
    "path": lambda i: f"catalog/{ID_CLASSES[i % 10]}/{i:09d}.jpg",  # 25-32 bytes: padded to 32
}


def id_map_run(n: int, lookups: list[int]) -> None:
    """Build and save the id map of n ids per shape once; measure each way of loading it in fresh processes."""
    for shape, make_id in ID_SHAPES.items():
        folder = CACHE / f"ids-{shape}-{n}"
        meta_path = folder / "id_map.json"
        if not meta_path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            id_map = IdMap.of([make_id(i) for i in range(n)])
            built = time.perf_counter() - started
            meta_path.write_text(json.dumps({**id_map.save(folder), "build_s": built}))
            del id_map
        meta = json.loads(meta_path.read_text())
        files = sum((folder / name).stat().st_size for name in PACKED_FILES) / n
        for mode in ("packed-mmap", "packed-from-text", "python-dict"):
            for count in lookups:
                cmd = [sys.executable, "-P", __file__, "--id-map-child", str(folder), "--mode", mode, "--shape", shape,
                       "--lookups", str(count)]  # fmt: skip
                r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                anon, mapped = r["anon"] / n, r["mapped"] / n
                print(
                    f"{n:>10,} {shape:<5} {mode:<17} {count:>7,} {meta['build_s']:>6.1f} {files:>6.1f} "
                    f"{r['load_s']:>6.2f} {anon:>7.1f} {mapped:>7.1f} {anon + mapped:>7.1f} "
                    f"{r['one']:>7.2f} {r['thirty']:>7.2f} {r['gather']:>7.2f}",
                    flush=True,
                )


def id_map_child(folder: Path, mode: str, shape: str, lookups: int) -> dict[str, Any]:
    """Load the map `mode`'s way, run the lookups and gathers, report heap growth, resident pages, µs per call."""
    meta = json.loads((folder / "id_map.json").read_text())
    n = int(meta["rows"])
    before = smaps_rss()["anon"]
    started = time.perf_counter()
    if mode == "python-dict":  # what SearchIndex held before the packed map
        strings = (folder / "ids.txt").read_text(encoding="utf-8").splitlines()
        names, rows = np.array(strings, dtype=object), {image_id: row for row, image_id in enumerate(strings)}
        del strings
        find = lambda ids: np.fromiter((rows[i] for i in ids), dtype=np.int64, count=len(ids))  # noqa: E731
        gather = lambda at: names[at].tolist()  # noqa: E731
    else:
        id_map = IdMap.load(folder, meta if mode == "packed-mmap" else None, mmap=True, removed=frozenset())
        find, gather = id_map.rows_of, id_map.ids_at
    load_s = time.perf_counter() - started
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed temporaries of the load stay resident in malloc's heap otherwise
    anon = smaps_rss()["anon"] - before
    rng = np.random.default_rng(lookups)
    make_id = ID_SHAPES[shape]
    wanted = [make_id(int(i)) for i in rng.integers(0, n, lookups * 31)]
    hit_rows = rng.integers(0, n, (lookups, 10))
    timings = {}
    for name, calls in (
        ("one", [lambda i=i: find(wanted[i : i + 1]) for i in range(lookups)]),
        ("thirty", [lambda i=i: find(wanted[lookups + 30 * i : lookups + 30 * (i + 1)]) for i in range(lookups)]),
        ("gather", [lambda i=i: gather(hit_rows[i]) for i in range(lookups)]),
    ):
        times = np.empty(lookups)
        for i, call in enumerate(calls):
            t0 = time.perf_counter()
            call()
            times[i] = time.perf_counter() - t0
        timings[name] = float(np.median(times)) * 1e6
    after = smaps_rss()
    mapped = sum(after.get(name, 0) for name in PACKED_FILES)
    return {"load_s": load_s, "anon": anon, "mapped": mapped, **timings}


ID_MAP_HEADER = (
    f"{'ids':>10} {'shape':<5} {'map':<17} {'lookups':>7} {'build s':>6} {'file B':>6} {'load s':>6} "
    f"{'heap B':>7} {'pages B':>7} {'total B':>7} {'1 id µs':>7} {'30 ids':>7} {'gather':>7}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000_000])
    parser.add_argument("--only", nargs="+", help="factories containing any of these strings")
    parser.add_argument("--nprobe", nargs="+", type=int, default=[16, 32], help="IVF lists probed")
    parser.add_argument("--refine", nargs="+", type=int, default=[10, 20, 50], help="refine=r re-scores r·10")
    parser.add_argument("--id-map", action="store_true", help="measure the id map alone (see the docstring)")
    parser.add_argument("--lookups", nargs="+", type=int, default=[10_000], help="--id-map: lookups per process")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--id-map-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, json.loads(args.params), args.data)))
        return
    if args.id_map_child:
        print(json.dumps(id_map_child(args.id_map_child, args.mode, args.shape, args.lookups[0])))
        return
    if args.id_map:
        print("per id: file B = the packed files, heap B = anonymous memory grown by loading the map,")
        print("pages B = resident pages of the packed files after the lookups;")
        print("µs = median per call (1 id, 30 ids, 10-row gather)\n")
        print(ID_MAP_HEADER, flush=True)
        for n in args.sizes:
            id_map_run(n, args.lookups)
        return
    print(f"faiss {faiss.__version__}; per vector: file B = index.faiss, RAM B = its resident pages + Faiss heap,")
    print("vec B = vectors.npy pages resident after 1,000 cold queries, idmap B = the id map's heap + resident pages;")
    print("single queries, 1 Faiss thread; warm p50/p99, then cold (vectors.npy evicted first)\n")
    print(HEADER, flush=True)
    for n in args.sizes:
        run_size(n, args.only, args.nprobe, args.refine)


if __name__ == "__main__":
    main()
