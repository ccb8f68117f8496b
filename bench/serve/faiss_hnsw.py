#!/usr/bin/env python3
"""FAISS IndexHNSWFlat on the vectors written by bench/serve/ann.bench.ts, with the same settings.

Reads from --dir: base.f32 [rows x dim], queries.f32 [queries x dim] (row-major float32, unit-length rows),
exact_ids.i32 / exact_scores.f32 [queries x k] (the exact top-k by inner product, best first).

Builds IndexHNSWFlat(dim, M, METRIC_INNER_PRODUCT) (inner product on unit vectors = cosine) with
efConstruction on --threads OpenMP threads, then for each efSearch: single-query latency (each query
searched alone with one OpenMP thread, timed with perf_counter_ns, after a warm-up), batched throughput
(all queries in one call on --threads threads, repeated >= 1 s) and recall@k computed exactly as the
TS side does (a returned id is a hit when its true inner product reaches the exact k-th score - 1e-5).

With --index PATH (ann.bench.ts --keep passes <keep dir>/faiss-<M>-<efC>.index) the index is kept: when PATH
exists and its sidecar PATH.build.json records the same M, efConstruction, rows and dim, it is read with
faiss.read_index instead of built, and the rows carry the recorded build seconds and RSS growth with
buildCached true (as ann.bench.ts does for usearch); otherwise it is built and written to PATH with the sidecar.
Without --index the built index is written to --dir only to measure its size, then removed.

Prints one JSON object per efSearch on stdout (the AnnRow shape of ann.bench.ts); progress on stderr.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

try:
    import faiss
except ImportError as err:  # the TS side reports this and carries on without FAISS
    print(f"faiss is not importable: {err} (Debian: apt-get install python3-faiss)", file=sys.stderr)
    sys.exit(3)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--queries", type=int, required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--efc", type=int, default=128)
    p.add_argument("--ef", default="16,24,32,48,64")
    p.add_argument("--index", default="", help="keep the built index at this path and reuse it when its sidecar matches")
    a = p.parse_args()
    d, n, q, k = a.dim, a.rows, a.queries, a.k
    base = np.fromfile(os.path.join(a.dir, "base.f32"), dtype=np.float32).reshape(n, d)
    queries = np.fromfile(os.path.join(a.dir, "queries.f32"), dtype=np.float32).reshape(q, d)
    exact_scores = np.fromfile(os.path.join(a.dir, "exact_scores.f32"), dtype=np.float32).reshape(q, k)
    kth = exact_scores[:, k - 1].astype(np.float64)

    faiss.omp_set_num_threads(a.threads)
    keep = bool(a.index)
    path = a.index or os.path.join(a.dir, f"faiss-{a.M}-{a.efc}.index")
    info_path = path + ".build.json"
    settings = {"M": a.M, "efConstruction": a.efc, "rows": n, "dim": d}
    info = None
    if keep and os.path.exists(path) and os.path.exists(info_path):
        with open(info_path) as f:
            recorded = json.load(f)
        if all(recorded.get(key) == value for key, value in settings.items()):
            info = recorded
        else:
            was = "/".join(str(recorded.get(key)) for key in settings)
            print(f"  {info_path} records M/efC/rows/dim {was}, not {a.M}/{a.efc}/{n}/{d}: building again", file=sys.stderr)
    cached = info is not None
    if cached:
        index = faiss.read_index(path)
        if index.ntotal != n or index.d != d:  # the sidecar does not describe this file
            print(f"  {path} holds {index.ntotal} x {index.d}, not {n} x {d}: building again", file=sys.stderr)
            cached = False
        else:
            print(f"  reusing the FAISS index built at {info['builtAt']} in {info['buildSeconds']:.1f} s: {path}", file=sys.stderr)
    if not cached:
        rss0 = rss_mb()
        load0 = os.getloadavg()[0]
        index = faiss.IndexHNSWFlat(d, a.M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = a.efc
        t0 = time.perf_counter()
        index.add(base)
        info = {
            **settings,
            "buildSeconds": time.perf_counter() - t0,
            "rssGrowthMB": rss_mb() - rss0,
            "builtAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load": max(load0, os.getloadavg()[0]),
        }
        if keep and os.path.exists(info_path):
            os.remove(info_path)  # a stale sidecar must not outlive a half-written index
        faiss.write_index(index, path)
        if keep:
            with open(info_path, "w") as f:
                json.dump(info, f)
        print(f"faiss {faiss.__version__}: built {n} x {d} M={a.M} efC={a.efc} in {info['buildSeconds']:.1f} s", file=sys.stderr)
    build_seconds = info["buildSeconds"]
    rss_growth = info["rssGrowthMB"]
    index_mb = os.path.getsize(path) / 2**20
    if not keep:
        os.remove(path)

    base64 = base.astype(np.float64)
    q64 = queries.astype(np.float64)
    for ef in [int(x) for x in a.ef.split(",")]:
        index.hnsw.efSearch = ef
        faiss.omp_set_num_threads(1)
        for t in range(min(q, 300)):  # warm-up
            index.search(queries[t : t + 1], k)
        lat = np.empty(q)
        found = np.empty((q, k), dtype=np.int64)
        for t in range(q):
            s = time.perf_counter_ns()
            _, ids = index.search(queries[t : t + 1], k)
            lat[t] = (time.perf_counter_ns() - s) / 1e6
            found[t] = ids[0]
        lat.sort()
        hits = 0.0
        for t in range(q):
            ids = [int(i) for i in dict.fromkeys(found[t].tolist()) if i >= 0]
            true = base64[ids] @ q64[t] if ids else np.empty(0)
            hits += min(1.0, float(np.sum(true >= kth[t] - 1e-5)) / k)
        recall = hits / q
        faiss.omp_set_num_threads(a.threads)
        batches = 0
        b0 = time.perf_counter()
        while time.perf_counter() - b0 < 1.0 or batches < 2:
            index.search(queries, k)
            batches += 1
        batch_qps = batches * q / (time.perf_counter() - b0)
        print(
            json.dumps(
                {
                    "engine": "faiss",
                    "metric": "ip",
                    "quantization": "f32",
                    "connectivity": a.M,
                    "expansionAdd": a.efc,
                    "expansionSearch": ef,
                    "buildSeconds": build_seconds,
                    "buildCached": cached,
                    "indexMB": index_mb,
                    "rssGrowthMB": rss_growth,
                    "p50Ms": float(lat[min(q - 1, int(0.5 * q))]),
                    "p99Ms": float(lat[min(q - 1, int(0.99 * q))]),
                    "batchQps": batch_qps,
                    "recall": recall,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
