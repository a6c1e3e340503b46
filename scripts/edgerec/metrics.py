"""Full-ranking metrics (stage 5, evaluator): HR@K, NDCG@K and MRR over the whole catalog.

Protocol (DATA.md): every item of the catalog is ranked (no sampled negatives); items in the user's
own history get score -inf, the target too when it is one of them (a re-purchase): the served path
excludes every seen item (`excludeSeen`, default true), so such a target is a hit it could never
serve, and counting it inflated a repeat-heavy log's HR@10 from 0.27 to 0.76. Ties are broken
against the target (an item scoring exactly the target's score ranks above it), so a constant scorer
earns nothing.
"""

from __future__ import annotations

import numpy as np
import torch

KS = (5, 10, 20)
METRIC_KEYS = tuple(f"hr@{k}" for k in KS) + tuple(f"ndcg@{k}" for k in KS) + ("mrr",)
MISS_RANK = 1 << 40
"""Rank of a target whose score is not finite: behind every item of any catalog and past any cutoff,
so it is a miss at every K (even where the catalog is smaller than K) and adds ~0 to MRR."""


def target_ranks(
    scores: torch.Tensor, targets: torch.Tensor, exclude_rows: torch.Tensor, exclude_cols: torch.Tensor
) -> torch.Tensor:
    """0-based rank of each target among all items.

    scores: (B, N) item scores; targets: (B,) column of the target; (exclude_rows[i], exclude_cols[i])
    are (row, column) pairs of history items to exclude. Returns (B,) int64.

    A target whose score is not finite (NaN or +-inf: a broken model, or a target excluded as a history
    item) gets `MISS_RANK`, the worst rank: a miss at every cutoff, never a hit (NaN compares false
    with everything, so the count below would make it rank -1)."""
    scores = scores.clone()
    b = torch.arange(scores.shape[0], device=scores.device)
    scores[exclude_rows, exclude_cols] = float("-inf")
    target_score = scores[b, targets]  # (B,): -inf for a target in the history
    higher = (scores > target_score[:, None]).sum(1)
    ties = (scores == target_score[:, None]).sum(1) - 1  # other items with the same score
    worst = torch.full_like(higher, max(MISS_RANK, scores.shape[1]))
    return torch.where(torch.isfinite(target_score), higher + ties, worst)


def metrics_from_ranks(ranks: np.ndarray | torch.Tensor) -> dict[str, float]:
    """HR@K, NDCG@K (one relevant item: 1/log2(rank+2)) and MRR, averaged over users."""
    r = torch.as_tensor(ranks, dtype=torch.float64)
    out = {}
    for k in KS:
        out[f"hr@{k}"] = float((r < k).double().mean())
    for k in KS:
        out[f"ndcg@{k}"] = float(torch.where(r < k, 1.0 / torch.log2(r + 2.0), torch.zeros_like(r)).mean())
    out["mrr"] = float((1.0 / (r + 1.0)).mean())
    return out


def top_k(scores: torch.Tensor, exclude_rows: torch.Tensor, exclude_cols: torch.Tensor, k: int) -> torch.Tensor:
    """(B, k) columns of the best items with history excluded."""
    scores = scores.clone()
    scores[exclude_rows, exclude_cols] = float("-inf")
    return torch.topk(scores, k, dim=1, sorted=True).indices
