"""Full-ranking evaluation (stage 5) of (a) the fp32 torch model and (b) the served int8 path.

The served path is exactly what the Worker does: onnxruntime on `user_encoder.int8.onnx`, fed the
dequantized int8 item rows (`q * scale`) as history, and every item scored as
`scale[r] * sum_d(q[r, d] * u[d])` in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import SeqDataset, SplitArrays, history_items
from .metrics import metrics_from_ranks, target_ranks, top_k


@dataclass
class EvalResult:
    """Metrics plus per-user ranks and top-10 columns (for parity)."""

    metrics: dict[str, float]
    ranks: np.ndarray  # (B,) 0-based rank of the target
    top10: np.ndarray  # (B, 10) best columns with history excluded


class Exclusions:
    """History items of every row of a split, sliceable by a contiguous row range."""

    def __init__(self, ds: SeqDataset, arrays: SplitArrays):
        rows, cols = history_items(ds, arrays, np.arange(len(arrays.users)))
        self.rows, self.cols = rows, cols - 1  # item index -> column

    def slice(self, lo: int, hi: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = np.searchsorted(self.rows, [lo, hi])
        return torch.from_numpy(self.rows[a:b] - lo), torch.from_numpy(self.cols[a:b])


def _rank_chunk(scores: torch.Tensor, targets: np.ndarray, ex: Exclusions, lo: int, hi: int):
    rows, cols = ex.slice(lo, hi)
    rows, cols = rows.to(scores.device), cols.to(scores.device)
    tgt = torch.from_numpy(targets[lo:hi] - 1).to(scores.device)
    ranks = target_ranks(scores, tgt, rows, cols)
    k = min(10, scores.shape[1])
    return ranks.cpu().numpy(), top_k(scores, rows, cols, k).cpu().numpy()


def _finish(ranks: list[np.ndarray], tops: list[np.ndarray]) -> EvalResult:
    r = np.concatenate(ranks) if ranks else np.zeros(0, np.int64)
    return EvalResult(metrics_from_ranks(r), r, np.concatenate(tops) if tops else np.zeros((0, 10), np.int64))


@torch.no_grad()
def evaluate_torch(
    model,
    ds: SeqDataset,
    arrays: SplitArrays,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
    exclusions: Exclusions | None = None,
) -> EvalResult:
    """fp32 torch model: fp32 item table as history and as the scored catalog."""
    raw = model.module if hasattr(model, "module") else model
    was_training = raw.training
    raw.eval()
    ex = exclusions or Exclusions(ds, arrays)
    table = raw.item_table()  # (N+1, D)
    ranks, tops = [], []
    for lo in range(0, len(arrays.users), batch_size):
        hi = min(lo + batch_size, len(arrays.users))
        scores = raw.full_sort_predict(
            table,
            torch.from_numpy(arrays.hist_items[lo:hi]).to(device),
            torch.from_numpy(arrays.hist_events[lo:hi]).to(device),
            torch.from_numpy(arrays.hist_age[lo:hi]).to(device),
        ).float()  # (B, N)
        r, t = _rank_chunk(scores, arrays.targets, ex, lo, hi)
        ranks.append(r)
        tops.append(t)
    raw.train(was_training)
    return _finish(ranks, tops)


def dequantized_table(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(N+1, D) float32 history rows as the Worker builds them: row 0 = padding zeros, row r+1 = q[r] * scale[r]."""
    out = np.zeros((q.shape[0] + 1, q.shape[1]), dtype=np.float32)
    out[1:] = q.astype(np.float32) * scale[:, None].astype(np.float32)
    return out


def session_feeds(session, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The feeds the session declares: an exported graph drops inputs its model does not use (e.g.
    `hist_age` with `model.use_recency=false`), and onnxruntime refuses unknown names. The Worker
    feeds the same way (src/onnx/encoder.ts)."""
    declared = {i.name for i in session.get_inputs()}
    return {k: v for k, v in feeds.items() if k in declared}


def served_user_embeddings(session, table: np.ndarray, arrays: SplitArrays, lo: int, hi: int) -> np.ndarray:
    """(B, D) user_emb from an onnxruntime session of the user encoder, histories from `table`."""
    feeds = {
        "hist_emb": table[arrays.hist_items[lo:hi]],
        "hist_event": arrays.hist_events[lo:hi],
        "hist_age": arrays.hist_age[lo:hi],
    }
    return session.run(["user_emb"], session_feeds(session, feeds))[0]


def int8_scores(user_emb: np.ndarray, q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(B, N) float64 scores `scale[r] * sum_d(q[r, d] * u[d])`, as the Worker computes them."""
    return (user_emb.astype(np.float64) @ q.astype(np.float64).T) * scale.astype(np.float64)[None, :]


def evaluate_served(
    session,
    q: np.ndarray,
    scale: np.ndarray,
    ds: SeqDataset,
    arrays: SplitArrays,
    batch_size: int = 1024,
    exclusions: Exclusions | None = None,
) -> EvalResult:
    """The served int8 path: ORT user encoder on dequantized int8 history rows, int8 catalog scores."""
    ex = exclusions or Exclusions(ds, arrays)
    table = dequantized_table(q, scale)
    ranks, tops = [], []
    for lo in range(0, len(arrays.users), batch_size):
        hi = min(lo + batch_size, len(arrays.users))
        u = served_user_embeddings(session, table, arrays, lo, hi)
        scores = torch.from_numpy(int8_scores(u, q, scale))
        r, t = _rank_chunk(scores, arrays.targets, ex, lo, hi)
        ranks.append(r)
        tops.append(t)
    return _finish(ranks, tops)
