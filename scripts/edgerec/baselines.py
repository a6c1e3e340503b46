"""Baselines in the same harness (same split, full ranking, history excluded, same tie rule):

- popularity: training interaction counts;
- item-to-item co-occurrence: counts of (a, b) with b following a within `window` events in the
  training sequences, summed over the last `window` history items with weights 1, 1/2, 1/3, ...;
- SASRec-CE: the same trainer with ids only (no text, events, recency, auxiliary losses or id dropout).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from . import train
from .config import Config
from .data import SeqDataset, following_pairs, split
from .evaluate import Exclusions, EvalResult, evaluate_torch
from .metrics import METRIC_KEYS, metrics_from_ranks, target_ranks


def _evaluate_scores(score_fn, ds: SeqDataset, arrays, batch_size: int = 1024) -> dict[str, float]:
    ex = Exclusions(ds, arrays)
    ranks = []
    for lo in range(0, len(arrays.users), batch_size):
        hi = min(lo + batch_size, len(arrays.users))
        scores = score_fn(lo, hi)  # (B, N)
        rows, cols = ex.slice(lo, hi)
        ranks.append(target_ranks(scores, torch.from_numpy(arrays.targets[lo:hi] - 1), rows, cols).numpy())
    return metrics_from_ranks(np.concatenate(ranks))


def popularity(ds: SeqDataset, arrays) -> dict[str, float]:
    """Scores every item by its training count."""
    counts = torch.from_numpy(ds.train_counts[1:].astype(np.float32))
    return _evaluate_scores(lambda lo, hi: counts.expand(hi - lo, -1), ds, arrays)


def cooccurrence(ds: SeqDataset, arrays, window: int = 3) -> dict[str, float]:
    """Item-to-item: what followed the user's last few items in other users' training sequences.
    Ties (most items score 0) fall back to popularity."""
    n = ds.num_items + 1
    s, d, _ = following_pairs(ds, window)
    # C^T as sparse CSR: row b, column a = count(a followed by b); scores = C^T @ Q^T
    ct = (
        torch.sparse_coo_tensor(torch.from_numpy(np.stack([d, s])), torch.ones(len(s)), (n, n), check_invariants=False)
        .coalesce()
        .to_sparse_csr()
    )
    pop = torch.from_numpy(ds.train_counts.astype(np.float32))
    tie = pop / (pop.max() + 1) * 1e-3  # smaller than one co-occurrence

    def score(lo: int, hi: int) -> torch.Tensor:
        hist = torch.from_numpy(arrays.hist_items[lo:hi, -window:])  # (B, w), most recent last
        weights = 1.0 / torch.arange(window, 0, -1, dtype=torch.float32)  # (w,) 1/3, 1/2, 1
        q = torch.zeros(hi - lo, n)
        q.scatter_add_(1, hist, weights.expand(hi - lo, -1) * (hist > 0))
        return ((ct @ q.T).T + tie)[:, 1:]  # (B, N)

    return _evaluate_scores(score, ds, arrays)


def sasrec_ce_config(cfg: Config) -> Config:
    """The ID-only SASRec with full-softmax cross entropy, in this trainer."""
    return replace(
        cfg,
        model=replace(cfg.model, use_text=False, use_events=False, use_recency=False, id_dropout=0.0, id_init="random"),
        train=replace(
            cfg.train, w_user=0.0, w_item=0.0, w_rank=0.0, w_text=0.0, sampled_softmax=0
        ),  # always the full softmax,
    )


def run(cfg: Config, ds: SeqDataset) -> str:
    """Evaluates every baseline on the test split and returns a Markdown table."""
    test = split(ds, "test", cfg.data.max_len)
    rows: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    t0 = time.time()
    rows["popularity"] = popularity(ds, test)
    seconds["popularity"] = time.time() - t0
    t0 = time.time()
    rows["item-to-item co-occurrence"] = cooccurrence(ds, test)
    seconds["item-to-item co-occurrence"] = time.time() - t0
    t0 = time.time()
    res = train.run(sasrec_ce_config(cfg), ds, quiet=True)
    sasrec: EvalResult = evaluate_torch(res.model, ds, test, cfg.train.eval_batch_size)
    rows["SASRec-CE (ids only)"] = sasrec.metrics
    seconds["SASRec-CE (ids only)"] = time.time() - t0
    head = "| baseline | " + " | ".join(METRIC_KEYS) + " | seconds |"
    rule = "| --- " * (len(METRIC_KEYS) + 2) + "|"
    body = [
        f"| {k} | " + " | ".join(f"{v[m]:.4f}" for m in METRIC_KEYS) + f" | {seconds[k]:.0f} |" for k, v in rows.items()
    ]
    return "\n".join([head, rule, *body])
