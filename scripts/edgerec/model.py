"""The multi-task edgerec model, in one file (stage 3).

    item tower   e_v = id_emb(v) [dropped for some items while training] + TextEncoder(tokens(v))
                 q(y|v) = softmax(category_head(e_v))                                  -> L_v
    user tower   x_t = e_{v_t} + event_emb(event_t) + age_proj(log1p hours_t) + pos_emb(from the end)
                 h = causal pre-LN transformer(x)                                      (SASRec)
                 user_emb = h[:, -1];  p(y|u) = softmax(interest_head(h))              -> L_u
    retrieval    score(u, v) = user_emb . e_v over the whole catalog (tied embeddings)
                 full-softmax cross entropy at every real position                     -> L_retrieval
                 (or sampled softmax with logQ correction for large catalogs)
    ranking      action_logits = MLP([u, e_v, u * e_v]) over retrieved candidates, classes
                 ACTION_TYPES (none/view/click/cart/purchase)                          -> L_rank
    text         a few of an item's own tokens, encoded as a query, retrieve the item  -> L_text

    L = w_retrieval * L_retrieval + w_user * L_u + w_item * L_v + w_rank * L_rank + w_text * L_text

`EdgeRec` is the training wrapper (it owns the losses); `UserEncoder`, `TextEncoder` and `Ranker` are
the inference modules exported to ONNX with the signatures of docs/ARTIFACTS.md.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import Config, ModelConfig
from .data import ACTION_TYPES, EVENT_TYPES


class TextEncoder(nn.Module):
    """Bag-of-tokens text encoder: tokens (B, T) int64, 0 = padding -> text_emb (B, D).

    Mean of token embeddings, then a residual MLP. A row without tokens encodes to the zero vector,
    so an item without text is described by its id embedding alone. Its output lives in the item
    embedding space: a query's text_emb scores items by dot product."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        nn.init.normal_(self.tok.weight, std=dim**-0.5)
        with torch.no_grad():
            self.tok.weight[0].zero_()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens > 0).to(self.tok.weight.dtype)  # (B, T)
        pooled = (self.tok(tokens) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)  # (B, D)
        return self.head(pooled, mask.sum(1, keepdim=True) > 0)

    def head(self, pooled: torch.Tensor, has_tokens: torch.Tensor) -> torch.Tensor:
        """Residual MLP on mean-pooled token embeddings (B, D); rows without tokens -> 0."""
        return (pooled + self.mlp(pooled)) * has_tokens.to(pooled.dtype)


def mean_pool_matrix(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Sparse CSR (N, V) matrix with 1/len at each (item, token): `S @ tok.weight` is the mean of
    each row's token embeddings. Same result as `TextEncoder.forward`'s pooling, but its backward
    is a sparse product instead of a sort-heavy embedding-bag backward (~5x faster on CPU)."""
    mask = tokens > 0
    n, t = tokens.shape
    rows = torch.arange(n, device=tokens.device)[:, None].expand(n, t)[mask]
    cols = tokens[mask]
    count = mask.sum(1).clamp(min=1).to(torch.float32)
    s = torch.sparse_coo_tensor(torch.stack([rows, cols]), (1.0 / count)[rows], (n, vocab_size), check_invariants=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        return s.coalesce().to_sparse_csr()


class ItemTower(nn.Module):
    """All item embeddings at once: (N+1, D), row 0 = padding (zeros).

    Items without any training interaction never use their id embedding (it would only ever be
    pushed down as a softmax negative); they are embedded from text alone, like a brand-new item."""

    def __init__(
        self, cfg: ModelConfig, item_tokens: torch.Tensor, has_id: torch.Tensor, vocab_size: int, n_categories: int
    ):
        super().__init__()
        n = item_tokens.shape[0]
        self.cfg = cfg
        self.id_emb = nn.Embedding(n, cfg.dim, padding_idx=0)
        nn.init.normal_(self.id_emb.weight, std=cfg.dim**-0.5)
        with torch.no_grad():
            self.id_emb.weight[0].zero_()
        self.text = TextEncoder(vocab_size, cfg.dim)
        self.category_head = nn.Linear(cfg.dim, n_categories)
        self.register_buffer("tokens", item_tokens.long())  # (N+1, T)
        self.register_buffer("has_id", has_id.float().unsqueeze(1))  # (N+1, 1)
        self._pool: torch.Tensor | None = None  # sparse (N+1, V), built on first use

    def forward(self) -> torch.Tensor:
        e = torch.zeros(self.tokens.shape[0], self.cfg.dim, device=self.tokens.device)
        if self.cfg.use_id:
            e = e + self._ids(None)
        if self.cfg.use_text:
            if self._pool is None or self._pool.device != self.tokens.device:
                self._pool = mean_pool_matrix(self.tokens, self.text.tok.num_embeddings)
            pooled = self._pool @ self.text.tok.weight  # (N+1, D)
            e = e + self.text.head(pooled, (self.tokens > 0).any(1, keepdim=True))
        return e  # (N+1, D)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """The embeddings of some items only, (R,) item index -> (R, D): the same values as
        `forward()[index]` (id dropout drawn for these rows), at a cost that grows with R, not with the
        catalog. Sampled-softmax steps use it, so a 300k-item catalog does not embed every item each step."""
        e = torch.zeros(len(index), self.cfg.dim, device=self.tokens.device)
        if self.cfg.use_id:
            e = e + self._ids(index)
        if self.cfg.use_text:
            e = e + self.text(self.tokens[index])
        return e  # (R, D)

    def _ids(self, index: torch.Tensor | None) -> torch.Tensor:
        """Id embeddings of `index` (every row when None), zero for items without training interactions."""
        keep = self.has_id if index is None else self.has_id[index]
        if self.training and self.cfg.id_dropout > 0:
            # "id dropout": a random subset of items must be recognisable from text alone.
            keep = keep * (torch.rand_like(keep) >= self.cfg.id_dropout).float()
        return (self.id_emb.weight if index is None else self.id_emb(index)) * keep


class SelfAttention(nn.Module):
    """Multi-head causal self-attention that also returns its weights (for explanations)."""

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        assert dim % heads == 0, "dim must be divisible by heads"
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)  # 3 x (B, T, D)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))  # (B, H, T, Dh)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))  # (B, H, T, T)
        att = att.masked_fill(~allowed, torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = self.drop(att) @ v  # (B, H, T, Dh)
        y = y.transpose(1, 2).reshape(b, t, d)
        return self.out(y), att


class Block(nn.Module):
    """Pre-LN transformer block."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.dim)
        self.attn = SelfAttention(cfg.dim, cfg.heads, cfg.attn_dropout)
        self.ln2 = nn.LayerNorm(cfg.dim)
        self.ffn = nn.Sequential(
            nn.Linear(cfg.dim, cfg.ffn_mult * cfg.dim), nn.GELU(), nn.Linear(cfg.ffn_mult * cfg.dim, cfg.dim)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, att = self.attn(self.ln1(x), allowed)
        x = x + self.drop(a)
        x = x + self.drop(self.ffn(self.ln2(x)))
        return x, att


class UserEncoder(nn.Module):
    """The user tower, exported as `user_encoder.onnx` (signature of docs/ARTIFACTS.md).

    forward(hist_emb (B, L, D) float32, hist_event (B, L) int64, hist_age (B, L) float32)
        -> user_emb (B, D), interests (B, C), attention (B, L)
    Histories are left-padded (most recent event in the last slot); padding slots have event 0."""

    def __init__(self, cfg: ModelConfig, max_len: int, n_categories: int):
        super().__init__()
        self.cfg = cfg
        self.event_emb = nn.Embedding(len(EVENT_TYPES), cfg.dim, padding_idx=0)
        self.age_proj = nn.Linear(1, cfg.dim)
        self.pos_emb = nn.Embedding(max_len, cfg.dim)  # index 0 = most recent slot
        for emb in (self.event_emb, self.pos_emb):
            nn.init.normal_(emb.weight, std=0.02)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.interest_head = nn.Linear(cfg.dim, n_categories)

    def encode(
        self, hist_emb: torch.Tensor, hist_event: torch.Tensor, hist_age: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states at every slot (B, L, D) and the last layer's attention (B, H, L, L)."""
        b, t, d = hist_emb.shape
        real = hist_event > 0  # (B, L)
        x = hist_emb
        if self.cfg.use_events:
            x = x + self.event_emb(hist_event)
        if self.cfg.use_recency:
            x = x + self.age_proj(hist_age.unsqueeze(-1))
        # Positions count from the end because the input is left-padded: the last slot is position 0.
        x = x + self.pos_emb.weight[:t].flip(0)  # (B, L, D)
        x = self.drop(x * real.unsqueeze(-1).to(x.dtype))
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()  # (L, L)
        allowed = causal & real[:, None, None, :]  # (B, 1, L, L): past, non-padding keys only
        att = x.new_zeros(b, 1, t, t)
        for block in self.blocks:
            x, att = block(x, allowed)
        return self.ln_f(x), att

    def forward(self, hist_emb: torch.Tensor, hist_event: torch.Tensor, hist_age: torch.Tensor):
        h, att = self.encode(hist_emb, hist_event, hist_age)
        user_emb = h[:, -1]  # (B, D)
        interests = F.softmax(self.interest_head(user_emb), dim=-1)  # (B, C)
        attention = att[:, :, -1, :].mean(1)  # (B, L): what the final slot attended to
        return user_emb, interests, attention


class Ranker(nn.Module):
    """Ranking head over retrieved candidates, exported as `ranker.int8.onnx`.

    forward(user_emb (B, D), cand_emb (B, K, D)) -> action_logits (B, K, A), A = len(ACTION_TYPES)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3 * dim, hidden), nn.GELU(), nn.Linear(hidden, len(ACTION_TYPES)))

    def forward(self, user_emb: torch.Tensor, cand_emb: torch.Tensor) -> torch.Tensor:
        u = user_emb.unsqueeze(1).expand_as(cand_emb)  # (B, K, D)
        return self.mlp(torch.cat([u, cand_emb, u * cand_emb], dim=-1))  # (B, K, A)


@dataclass(frozen=True)
class ModelDims:
    """Sizes that come from the data, stored in the checkpoint next to the config."""

    n_items: int  # N (table rows; indices 1..N)
    n_categories: int
    vocab_size: int
    max_tokens: int


def uses_sampled_softmax(cfg: Config, n_items: int, positions_per_row: float | None = None) -> bool:
    """Full softmax while one batch's logits (batch_size x positions x items) stay within
    `train.full_softmax_max_logits`; past that (large catalogs, long histories) sampled softmax with
    `train.sampled_softmax` negatives, if that is fewer than the items. `positions_per_row`: the mean
    number of trained positions of a training row (its targets), from the data; max_len without it."""
    t = cfg.train
    positions = cfg.data.max_len if positions_per_row is None else positions_per_row
    full_logits = t.batch_size * positions * n_items
    return 0 < t.sampled_softmax < n_items and full_logits > t.full_softmax_max_logits


class EdgeRec(nn.Module):
    """Training wrapper: owns the towers and the multi-task loss (`forward(batch) -> (loss, parts)`)."""

    def __init__(
        self,
        cfg: Config,
        dims: ModelDims,
        item_tokens: torch.Tensor,
        item_category: torch.Tensor,
        train_counts: torch.Tensor,
        query_tokens: torch.Tensor | None = None,
        query_items: torch.Tensor | None = None,
        positions_per_row: float | None = None,
    ):
        super().__init__()
        self.cfg = cfg
        self.dims = dims
        m = cfg.model
        self.items = ItemTower(m, item_tokens, train_counts > 0, dims.vocab_size, dims.n_categories)
        self.user = UserEncoder(m, cfg.data.max_len, dims.n_categories)
        self.ranker = Ranker(m.dim, m.ranker_hidden)
        self.register_buffer("item_category", item_category.long())  # (N+1,), -1 = none
        q = train_counts[1:].double() + 1.0  # smoothed unigram sampling distribution for sampled softmax
        self.register_buffer("sample_prob", (q / q.sum()).float())  # (N,)
        self.sampled = uses_sampled_softmax(cfg, dims.n_items, positions_per_row)
        # real (search query, item) pairs for the text loss; empty when the data has no queries
        t = item_tokens.shape[1]
        self.register_buffer(
            "query_tokens", torch.zeros(0, t, dtype=torch.long) if query_tokens is None else query_tokens.long()
        )
        self.register_buffer(
            "query_items", torch.zeros(0, dtype=torch.long) if query_items is None else query_items.long()
        )

    def item_table(self) -> torch.Tensor:
        """(N+1, D) item embeddings (row 0 = padding)."""
        return self.items()

    def full_sort_predict(
        self, table: torch.Tensor, hist_items: torch.Tensor, hist_event: torch.Tensor, hist_age: torch.Tensor
    ) -> torch.Tensor:
        """(B, N) scores of every item (column r = item index r + 1)."""
        user_emb, _, _ = self.user(table[hist_items], hist_event, hist_age)
        return user_emb @ table[1:].T

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """batch: hist_items/hist_events/targets/target_events (B, L) int64, hist_age (B, L) float."""
        t = self.cfg.train
        real = batch["targets"] > 0  # (B, L)
        target = batch["targets"][real]  # (P,) item index
        text_on = t.w_text > 0 and self.cfg.model.use_text
        # A sampled step must know the text loss's items before it embeds; the full softmax draws them
        # last, as it always has (the same random stream, so the same model as before this split).
        queries = self._text_queries(target) if text_on and self.sampled else None
        if self.sampled:
            # Only the items this step touches are embedded: history, targets, the shared negatives and
            # the text loss's items. `emb(x)` looks item indices up among them.
            neg = torch.multinomial(self.sample_prob, t.sampled_softmax, replacement=True) + 1  # (M,) item index
            parts_of_step = [batch["hist_items"].flatten(), target, neg]
            if queries is not None:
                parts_of_step.append(queries[1])
            rows = torch.unique(torch.cat(parts_of_step))  # sorted, holds 0 (padding) when a history is short
            sub = self.items.rows(rows)  # (R, D)

            def emb(x: torch.Tensor) -> torch.Tensor:
                return sub[torch.searchsorted(rows, x)]

            pool = rows[rows > 0]  # items of this step: the category and text losses' candidates
        else:
            table = self.items()  # (N+1, D)

            def emb(x: torch.Tensor) -> torch.Tensor:
                return table[x]

            pool = torch.arange(1, table.shape[0], device=target.device)
        h, _ = self.user.encode(emb(batch["hist_items"]), batch["hist_events"], batch["hist_age"])  # (B, L, D)
        hr = h[real]  # (P, D): only real positions (~9 per Beauty user, not L = 50)
        parts: dict[str, torch.Tensor] = {}

        if self.sampled:
            logits, labels, cand_cols = self._sampled_logits(hr, target, neg, emb)
        else:
            logits = hr @ table[1:].T  # (P, N)
            labels = target - 1
            cand_cols = None
        parts["retrieval"] = F.cross_entropy(logits.float(), labels)

        cat = self.item_category[target]  # (P,)
        if t.w_user > 0 and (cat >= 0).any():
            parts["user"] = F.cross_entropy(self.user.interest_head(hr).float(), cat, ignore_index=-1)
        pool_emb = emb(pool)  # (N or R, D)
        item_cat = self.item_category[pool]
        if t.w_item > 0 and (item_cat >= 0).any():
            parts["item"] = F.cross_entropy(self.items.category_head(pool_emb).float(), item_cat, ignore_index=-1)
        if t.w_rank > 0:
            parts["rank"] = self._rank_loss(hr, target, batch["target_events"][real], logits, labels, cand_cols, emb)
        if text_on:
            queries = queries if self.sampled else self._text_queries(target)
            parts["text"] = pool_emb.sum() * 0.0 if queries is None else self._text_loss(queries, pool, pool_emb)

        weights = {"retrieval": t.w_retrieval, "user": t.w_user, "item": t.w_item, "rank": t.w_rank, "text": t.w_text}
        loss = sum(weights[k] * v for k, v in parts.items())
        return loss, {k: float(v.detach()) for k, v in parts.items()}

    def _sampled_logits(self, hr: torch.Tensor, target: torch.Tensor, neg: torch.Tensor, emb):
        """Sampled softmax with logQ correction: one shared set of negatives (item indices, drawn from
        the unigram distribution); subtracting log q makes the estimate of the full softmax unbiased-ish."""
        log_q = self.sample_prob.log()
        pos_logit = (hr * emb(target)).sum(-1, keepdim=True) - log_q[target - 1, None]  # (P, 1)
        neg_logit = hr @ emb(neg).T - log_q[neg - 1][None, :]  # (P, M)
        neg_logit = neg_logit.masked_fill(neg[None, :] == target[:, None], float("-inf"))  # accidental hits
        logits = torch.cat([pos_logit, neg_logit], dim=1)
        labels = torch.zeros(len(target), dtype=torch.long, device=hr.device)
        return logits, labels, torch.cat([(target - 1)[:, None], (neg - 1)[None, :].expand(len(target), -1)], dim=1)

    def _rank_loss(self, hr, target, target_event, logits, labels, cand_cols, emb) -> torch.Tensor:
        """The ranker sees the target (label = its action) and the top-scoring retrieved non-targets
        (label `none`), on detached embeddings so it never pulls the retrieval space around."""
        k = self.cfg.train.rank_negatives
        # Hard negatives: the best-scoring non-targets among a random 1024 columns of the logits
        # (a top-k over all 12k columns of (P, N) costs more than the retrieval loss itself).
        pool = torch.randperm(logits.shape[1], device=hr.device)[:1024]  # (S,)
        scores = logits.detach()[:, pool]  # (P, S)
        scores = scores.masked_fill(pool[None, :] == labels[:, None], float("-inf"))
        top = pool[scores.topk(min(k, len(pool) - 1), dim=1).indices]  # (P, k) positions in `logits`
        neg_cols = top if cand_cols is None else cand_cols.gather(1, top)
        cand = torch.cat([(target - 1)[:, None], neg_cols], dim=1) + 1  # (P, 1+k) item index
        action = torch.where(
            (target_event >= 1) & (target_event < len(ACTION_TYPES)), target_event, torch.full_like(target_event, -100)
        )
        y = torch.zeros_like(cand)
        y[:, 0] = action
        out = self.ranker(hr.detach(), emb(cand).detach())  # (P, 1+k, A)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]).float(), y.reshape(-1), ignore_index=-100)

    def _text_queries(self, target: torch.Tensor, max_items: int = 128) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The text loss's queries, (Q, T) tokens and the (Q,) item each must retrieve: pseudo-queries (a
        random half of an item's own tokens) and, when the data has searches, real queries paired with
        the item the search led to. None when there is no text to learn from."""
        items = torch.unique(target)
        items = items[(self.items.tokens[items] > 0).any(1)]
        items = items[torch.randperm(len(items), device=items.device)[:max_items]]
        tokens = self.items.tokens[items]  # (M, T)
        keep = (torch.rand(tokens.shape, device=tokens.device) < 0.5) & (tokens > 0)
        keep = keep | ~keep.any(1, keepdim=True) & (tokens > 0)  # never an empty query
        tokens = tokens * keep
        if len(self.query_items):
            pick = torch.randint(len(self.query_items), (max_items,), device=items.device)
            tokens = torch.cat([tokens, self.query_tokens[pick]])
            items = torch.cat([items, self.query_items[pick]])
        real = (tokens > 0).any(1)
        return (tokens[real], items[real]) if real.any() else None

    def _text_loss(
        self, queries: tuple[torch.Tensor, torch.Tensor], pool: torch.Tensor, pool_emb: torch.Tensor
    ) -> torch.Tensor:
        """Queries must retrieve their item among `pool` (the full catalog, or a sampled step's items,
        which always hold the queries' own). This is what makes `text_encoder.onnx` usable for search."""
        tokens, items = queries
        q = self.items.text(tokens)  # (Q, D)
        return F.cross_entropy((q @ pool_emb.T).float(), torch.searchsorted(pool, items))


def build_model(
    cfg: Config,
    dims: ModelDims,
    item_tokens,
    item_category,
    train_counts,
    query_tokens=None,
    query_items=None,
    positions_per_row: float | None = None,
) -> EdgeRec:
    """Constructs `EdgeRec` from numpy or torch arrays. `positions_per_row` (the training rows' mean
    targets) decides the full or sampled softmax with the catalog's size (`uses_sampled_softmax`)."""
    return EdgeRec(
        cfg,
        dims,
        torch.as_tensor(item_tokens),
        torch.as_tensor(item_category),
        torch.as_tensor(train_counts),
        None if query_tokens is None else torch.as_tensor(query_tokens),
        None if query_items is None else torch.as_tensor(query_items),
        positions_per_row,
    )


def save_checkpoint(path, model: EdgeRec, extra: dict | None = None) -> None:
    """The checkpoint carries its config and data sizes, so `load_checkpoint` needs nothing else."""
    raw = model.module if hasattr(model, "module") else model
    torch.save(
        {"config": raw.cfg.to_dict(), "dims": raw.dims.__dict__, "model": raw.state_dict(), **(extra or {})},
        path,
    )


def load_checkpoint(path, map_location="cpu") -> tuple[EdgeRec, dict]:
    """Rebuilds the model from a checkpoint file (returns the model in eval mode and the raw dict)."""
    ck = torch.load(path, map_location=map_location, weights_only=False)
    cfg = Config.from_dict(ck["config"])
    dims = ModelDims(**ck["dims"])
    sd = ck["model"]
    n = dims.n_items + 1
    counts = torch.zeros(n, dtype=torch.long)
    counts[sd["items.has_id"].squeeze(1) > 0] = 1
    model = EdgeRec(
        cfg, dims, sd["items.tokens"], sd["item_category"], counts, sd.get("query_tokens"), sd.get("query_items")
    )
    model.load_state_dict(sd)
    model.eval()
    return model, ck
