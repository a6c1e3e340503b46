"""Training-step cost on large synthetic logs: forward, backward and optimizer time of one 256-row
step of the real model (edgerec.model), for the catalogs where the softmax choice and the item tower's
cost matter. Prints a Markdown table and writes bench-results/train-step-<time>.json.

    bash scripts/py.sh scripts/bench/train_step.py [--threads 1] [--steps 3] [--cases big,bigcat]

Cases (generated here, seeded; item ids `sku-N`, a 60% "successor" signal so there is something to learn):
- big: 50k users, 20k items, ~1.15M events (rows of ~20 trained positions): the sampled softmax.
- bigcat: a 300k-item catalog, 5k users, ~54k events: a step must not embed every item.
- beauty-like: 22k users, 12k items, ~200k events (~6 positions a row): stays on the exact softmax.
To compare with another commit, run this file with that commit's scripts/py.sh (a git worktree).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import torch

from edgerec.config import Config
from edgerec.data import load_dataset, split
from edgerec.model import build_model
from edgerec.train import dims_of

CASES = {
    "big": dict(users=50_000, items=20_000, events=1_000_000, catalog=20_000),
    "bigcat": dict(users=5_000, items=8_000, events=50_000, catalog=300_000),
    "beauty-like": dict(users=22_000, items=12_000, events=180_000, catalog=12_000),
}


def write_log(out: Path, users: int, items: int, events: int, catalog: int, seed: int = 1) -> tuple[Path, Path]:
    """A CSV event log and items file: per-user lengths 3-40, 60% of events follow their predecessor."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(3, 38, size=users)
    lens = (lens * events / lens.sum()).astype(int) + 3
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    seq = rng.integers(0, items, int(lens.sum()))
    for k in range(1, int(lens.max())):
        idx = starts[lens > k] + k
        follow = idx[rng.random(len(idx)) < 0.6]
        seq[follow] = (seq[follow - 1] * 7 + 3) % items
    user = np.repeat(np.arange(users), lens)
    ts = 1_600_000_000 + np.repeat(rng.integers(0, 10**7, users), lens) + np.arange(len(seq)) - np.repeat(starts, lens)
    ev = rng.choice(["view", "click", "cart", "purchase"], len(seq))
    events_path, items_path = out / "events.csv", out / "items.csv"
    pl.DataFrame(
        {"user_id": [f"u{u}" for u in user], "item_id": [f"sku-{i}" for i in seq], "timestamp": ts, "event": ev}
    ).write_csv(events_path)
    colour = np.array(["red", "blue", "green"])
    pl.DataFrame(
        {
            "item_id": [f"sku-{i}" for i in range(catalog)],
            "title": [f"Item {i} {colour[i % 3]} shoe" for i in range(catalog)],
            "categories": [f"Shoes|Type{i % 20}" for i in range(catalog)],
        }
    ).write_csv(items_path)
    return events_path, items_path


def measure(name: str, spec: dict, steps: int) -> dict:
    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        events, items = write_log(Path(tmp), **spec)
        ds = load_dataset(cfg.data, events=events, items=items)
    dims = dims_of(ds)
    tr = split(ds, "train", cfg.data.max_len)
    positions = float((tr.targets > 0).sum(1).mean())
    torch.manual_seed(0)
    model = build_model(
        cfg, dims, ds.item_tokens, ds.item_category, ds.train_counts, ds.query_tokens, ds.query_items, positions
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rows = np.arange(min(cfg.train.batch_size, len(tr.users)))
    batch = {
        k: torch.from_numpy(getattr(tr, k)[rows])
        for k in ("hist_items", "hist_events", "hist_age", "targets", "target_events")
    }
    model.train()
    times = {"forward": [], "backward": [], "optimizer": []}
    for i in range(steps + 1):  # the first step (lazy buffers, allocator) is not counted
        t0 = time.perf_counter()
        loss, _ = model(batch)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        if i:
            for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[k].append(v)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "case": name,
        "items": dims.n_items,
        "rows": len(rows),
        "positions_per_row": round(positions, 1),
        "softmax": f"sampled ({cfg.train.sampled_softmax})" if model.sampled else "full",
        **{f"{k}_s": round(v, 3) for k, v in med.items()},
        "step_s": round(sum(med.values()), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--cases", default="big,bigcat,beauty-like")
    ap.add_argument("--out", default="bench-results")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = [measure(name, CASES[name], args.steps) for name in args.cases.split(",")]
    head = ["case", "items", "positions_per_row", "softmax", "forward_s", "backward_s", "optimizer_s", "step_s"]
    print(f"\nOne training step, {results[0]['rows']} rows, {args.threads} thread(s), median of {args.steps}:\n")
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for r in results:
        print("| " + " | ".join(str(r[h]) for h in head) + " |")
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%SZ")
    path = out / f"train-step-{stamp}.json"
    path.write_text(json.dumps({"threads": args.threads, "steps": args.steps, "results": results}, indent=2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
