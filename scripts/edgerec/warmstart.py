"""Item-id embeddings initialised from co-occurrence (an item2vec-style warm start).

On Beauty the next item is mostly a neighbour of the last few ones: an item-to-item co-occurrence
count alone beats published SASRec-CE (see `baselines`). Starting the id embeddings from a truncated
SVD of the positive PMI of "b follows a within `window` events" (training part only, symmetrised)
puts those neighbours close together from step one, so training spends its few CPU epochs on the
sequence model instead of on discovering item similarity.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import SeqDataset, following_pairs


def ppmi_svd_embeddings(ds: SeqDataset, dim: int, window: int = 3, seed: int = 0) -> torch.Tensor | None:
    """(N+1, dim) float32 embeddings (row 0 and items without training pairs are zero), each
    column scaled to unit variance over items that have pairs. None when there is nothing to learn
    from: no training pair, or fewer than two items with a positive-PMI neighbour (e.g. every user has
    exactly 3 events, so the training part holds no pair); the caller keeps the random init then."""
    n = ds.num_items + 1
    a, b, gap = following_pairs(ds, window)
    if len(a) == 0:
        return None
    w = 1.0 / gap.astype(np.float64)
    rows, cols, vals = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w])  # symmetrised
    c = torch.sparse_coo_tensor(
        torch.from_numpy(np.stack([rows, cols])), torch.from_numpy(vals), (n, n), check_invariants=False
    ).coalesce()
    idx, v = c.indices(), c.values()
    row_sum = torch.zeros(n, dtype=torch.float64).index_add_(0, idx[0], v)
    col_sum = row_sum**0.75  # context smoothing of word2vec
    # PMI = log P(a, b) / (P(a) P_0.75(b)) = log v * sum(col) / (row[a] * col[b])
    pmi = torch.log(v * col_sum.sum() / (row_sum[idx[0]] * col_sum[idx[1]]))
    keep = pmi > 0
    has = torch.zeros(n, dtype=torch.bool)
    has[idx[0, keep]] = True  # items with a positive-PMI neighbour: the only rows the SVD can place
    if int(has.sum()) < 2:  # no spread to scale to unit variance
        return None
    m = torch.sparse_coo_tensor(idx[:, keep], pmi[keep].float(), (n, n), check_invariants=False).coalesce()
    torch.manual_seed(seed)
    q = min(dim, n)
    u, s, _ = torch.svd_lowrank(m, q=q, niter=4)
    emb = torch.zeros(n, dim, dtype=u.dtype)
    emb[:, :q] = u * s.sqrt()  # (n, dim)
    has = row_sum > 0
    emb[~has] = 0.0
    emb = emb / emb[has].std(0, keepdim=True).clamp(min=1e-8)
    if not torch.isfinite(emb).all():
        raise FloatingPointError("PPMI-SVD warm start produced non-finite embeddings")
    return emb.float()
