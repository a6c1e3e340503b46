"""FAISS IndexFlatIP baseline for scripts/bench/run.mjs (1 thread, one query per search call).

Reads the benchmark's data files from DIR (written by run.mjs) and prints one JSON object:
{"version": ..., "results": {N: {"plain": {"ms": [...], "top": [[rows]...]}, "filtered": {...}}}}.
The float32 index holds the dequantized int8 table (q * scale), so its scores are the exact ones.
Filters use IDSelectorBitmap (allowed and not excluded), built per query inside the timed region,
as a server would build it per request.

    python faiss_bench.py DIR
"""

import json
import sys
import time

import faiss
import numpy as np


def main(folder: str) -> None:
    with open(f"{folder}/spec.json") as f:
        spec = json.load(f)
    dim, k, reps, warmup = spec["dim"], spec["k"], spec["reps"], spec["warmup"]
    n_max = max(spec["sizes"])
    q = np.fromfile(f"{folder}/q.i8", dtype=np.int8).reshape(n_max, dim)
    scales = np.fromfile(f"{folder}/scales.f32", dtype=np.float32)
    queries = np.fromfile(f"{folder}/queries.f32", dtype=np.float32).reshape(-1, dim)
    faiss.omp_set_num_threads(1)
    out = {}
    for n in spec["sizes"]:
        index = faiss.IndexFlatIP(dim)
        index.add(q[:n].astype(np.float32) * scales[:n, None])
        allowed = np.fromfile(f"{folder}/allowed-{n}.u8", dtype=np.uint8).astype(bool)
        excluded = [np.array(e, dtype=np.int64) for e in spec["excluded"][str(n)]]
        res = {}
        for mode in ("plain", "filtered"):
            times, top = [], [None] * len(queries)
            for i in range(warmup + reps):
                j = i % len(queries)
                u = queries[j : j + 1]
                t0 = time.perf_counter()
                if mode == "plain":
                    _, idx = index.search(u, k)
                else:
                    mask = allowed.copy()
                    mask[excluded[j]] = False
                    bits = np.packbits(mask, bitorder="little")  # must outlive the search
                    sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
                    _, idx = index.search(u, k, params=faiss.SearchParameters(sel=sel))
                dt = (time.perf_counter() - t0) * 1000
                if i >= warmup:
                    times.append(dt)
                if top[j] is None:
                    top[j] = [int(r) for r in idx[0] if r >= 0]
            res[mode] = {"ms": times, "top": top}
        out[str(n)] = res
    json.dump({"version": faiss.__version__, "results": out}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
