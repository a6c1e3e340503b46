"""A report a person reads, from an artifact directory (plus, optionally, the data it was evaluated on).

    python -m edgerec.report --artifact DIR [--events E --items I | --beauty D | --recbole P]
                             [--baselines FILE.json] [--max-users N] [--out DIR/report]

Writes `report.html` (self-contained: every figure is embedded) and the same figures as PNGs beside
it. Sections:

1. Training: loss parts and validation HR/NDCG@10 per epoch, from `report/train_log.jsonl`.
2. Results: the manifest's fp32 and int8 test metrics, baselines (a `--baselines` JSON of
   `{name: {metric: value}}`, plus popularity and item-to-item co-occurrence computed with
   baselines.py when data is given), and the published full-ranking numbers when the data is Beauty.
3. Item embeddings: PCA of the served table (`q * scale`), coloured by the manifest's category label.
4. What the model relies on, measured on the served path only (`user_encoder.int8.onnx`, int8
   catalog scores, the full-ranking protocol of evaluate.py) over the test histories, each input
   perturbed in turn: history positions dropped by recency (the last one, the 2nd-5th last, the older
   ones; the rest shifted up so the most recent kept event stays in the last slot), every event type
   replaced by one type, the recency feature zeroed. Already-seen items stay excluded from the
   ranking, so only what the encoder reads changes. And, when the artifact has a text encoder, how
   much of each item embedding its text explains: cosine of `text_encoder(item tokens)` with the
   served item row (1 for items without training interactions, which are embedded from text alone).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import html
import io
import json
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .config import Config
from .data import SeqDataset, SplitArrays, load_dataset, split
from .evaluate import Exclusions, evaluate_served
from .metrics import METRIC_KEYS

PUBLISHED_BEAUTY = {
    "Popularity": (0.0152, 0.0068),
    "GRU4Rec": (0.0283, 0.0137),
    "SASRec (BCE, 1 negative)": (0.0605, 0.0318),
    "S3-Rec": (0.0647, 0.0327),
    "ICLRec": (0.0744, 0.0403),
    "SASRec trained with cross-entropy": (0.083, 0.0415),
    "DuoRec": (0.0845, 0.0443),
    "SASRec with sampled softmax": (0.0921, 0.0531),
}
"""Published HR@10 / NDCG@10 on the S3-Rec Beauty split, full ranking (../shared/DATA.md)."""

RECENCY_BUCKETS = {"last 1": (0, 1), "last 2-5": (1, 5), "older (6th last and before)": (5, 10**9)}
"""Positions counted from the most recent history event (0 = last): [lo, hi)."""


# ---------------------------------------------------------------------------------------------------
# Loading


@dataclass
class Served:
    """What the Worker would load from an artifact directory."""

    directory: Path
    manifest: dict
    q: np.ndarray  # (N, D) int8
    scale: np.ndarray  # (N,) float32
    items: dict  # items.json (columnar)
    user_encoder: ort.InferenceSession
    text_encoder: ort.InferenceSession | None
    vocab: dict | None

    @property
    def table(self) -> np.ndarray:
        """(N, D) float32 served item rows `q * scale`."""
        return self.q.astype(np.float32) * self.scale[:, None]

    def config(self) -> Config:
        """The artifact's trainer config (keys this trainer no longer knows are ignored)."""
        raw = self.manifest.get("config") or {}
        known = {f.name: {g.name for g in fields(getattr(Config(), f.name))} for f in fields(Config)}
        return Config.from_dict(
            {s: {k: v for k, v in (raw.get(s) or {}).items() if k in known[s]} for s in known if s in raw}
        )


def _session(path: Path, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def load_served(directory: str | Path) -> Served:
    """reference.load_artifact (manifest, int8 tables, user encoder) plus items.json, the text encoder
    and vocab.json when the artifact has them."""
    from .reference import load_artifact

    directory = Path(directory)
    art = load_artifact(directory)
    files = art.manifest["files"]
    items = json.loads((directory / files["items"]["path"]).read_text())
    text = _session(directory / files["textEncoder"]["path"]) if "textEncoder" in files else None
    vocab = json.loads((directory / files["vocab"]["path"]).read_text()) if "vocab" in files else None
    return Served(directory, art.manifest, art.q, art.scale, items, art.session, text, vocab)


def aligned_tables(served: Served, ds: SeqDataset) -> tuple[np.ndarray, np.ndarray]:
    """The artifact's int8 rows reordered into `ds`'s item order (row i = item index i + 1), so the
    evaluation code of evaluate.py applies unchanged; items the artifact lacks get a zero row."""
    row_of = {iid: r for r, iid in enumerate(served.items["ids"])}
    rows = np.array([row_of.get(iid, -1) for iid in ds.item_ids], dtype=np.int64)
    q = np.zeros((ds.num_items, served.q.shape[1]), dtype=np.int8)
    scale = np.zeros(ds.num_items, dtype=np.float32)
    ok = rows >= 0
    q[ok], scale[ok] = served.q[rows[ok]], served.scale[rows[ok]]
    return q, scale


def eval_arrays(ds: SeqDataset, max_len: int, max_users: int = 0, seed: int = 0) -> SplitArrays:
    """The test split (optionally a fixed random subset of `max_users` users)."""
    from .data import subset

    arrays = split(ds, "test", max_len)
    if 0 < max_users < len(arrays.users):
        keep = np.sort(np.random.default_rng(seed).choice(len(arrays.users), max_users, replace=False))
        arrays = subset(arrays, keep)
    return arrays


# ---------------------------------------------------------------------------------------------------
# Perturbations of the user encoder's inputs


def drop_positions(arrays: SplitArrays, lo: int, hi: int) -> SplitArrays:
    """Removes the history events whose position from the end is in [lo, hi) (0 = most recent) and
    re-left-pads the rest, so the most recent kept event is in the last slot."""
    b, length = arrays.hist_items.shape
    real = arrays.hist_events > 0  # (B, L)
    from_end = np.cumsum(real[:, ::-1], axis=1)[:, ::-1] - 1  # (B, L) 0 = last real slot
    keep = real & ~((from_end >= lo) & (from_end < hi))
    order = np.argsort(keep, axis=1, kind="stable")  # dropped/padding first, kept in time order last
    rows = np.arange(b)[:, None]
    kept = keep[rows, order]

    def gather(a: np.ndarray) -> np.ndarray:
        out = a[rows, order]
        out[~kept] = 0
        return out

    return dataclasses.replace(
        arrays,
        hist_items=gather(arrays.hist_items),
        hist_events=gather(arrays.hist_events),
        hist_age=gather(arrays.hist_age),
    )


def replace_events(arrays: SplitArrays, event: int) -> SplitArrays:
    """Every real history event becomes event type `event` (an index into manifest.eventTypes)."""
    ev = np.where(arrays.hist_events > 0, event, 0).astype(arrays.hist_events.dtype)
    return dataclasses.replace(arrays, hist_events=ev)


def zero_recency(arrays: SplitArrays) -> SplitArrays:
    """The recency input log1p(hours) set to 0 everywhere (what the Worker sends when it is unknown)."""
    return dataclasses.replace(arrays, hist_age=np.zeros_like(arrays.hist_age))


def reliance(served: Served, ds: SeqDataset, arrays: SplitArrays) -> list[dict]:
    """Served-path test metrics with the inputs intact and under each perturbation. Each row:
    `{"group", "variant", "users_changed", "metrics"}`."""
    q, scale = aligned_tables(served, ds)
    ex = Exclusions(ds, arrays)
    real = arrays.hist_events > 0
    n_real = real.sum(1)

    def run(arr: SplitArrays) -> dict:
        return evaluate_served(served.user_encoder, q, scale, ds, arr, 1024, ex).metrics

    out = [{"group": "intact", "variant": "intact", "users_changed": 0, "metrics": run(arrays)}]
    for name, (lo, hi) in RECENCY_BUCKETS.items():
        changed = int((n_real > lo).sum())
        out.append(
            {
                "group": "drop history",
                "variant": f"drop {name}",
                "users_changed": changed,
                "metrics": run(drop_positions(arrays, lo, hi)),
            }
        )
    names = served.manifest["eventTypes"]
    present = set(np.unique(arrays.hist_events[real]).tolist())
    for e in range(1, len(names)):
        changed = int(((arrays.hist_events != e) & real).any(1).sum())
        label = f"all events = {names[e]}" + ("" if e in present else " (type absent from data)")
        out.append(
            {
                "group": "event types",
                "variant": label,
                "users_changed": changed,
                "metrics": run(replace_events(arrays, e)),
            }
        )
    changed = int((arrays.hist_age != 0).any(1).sum())
    out.append(
        {
            "group": "recency",
            "variant": "recency zeroed",
            "users_changed": changed,
            "metrics": run(zero_recency(arrays)),
        }
    )
    return out


# ---------------------------------------------------------------------------------------------------
# Text vs item embedding


def item_tokens(served: Served, ds: SeqDataset | None) -> np.ndarray | None:
    """(N, T) token ids of every artifact row, as the trainer built them. Taken from `ds` when its
    vocabulary is the artifact's (then descriptions and attributes are included); otherwise rebuilt
    from items.json (title, categories, brand) with vocab.json."""
    if served.vocab is None:
        return None
    from .text import Vocab, tokenize

    vocab = Vocab.from_json(served.vocab)
    ids = served.items["ids"]
    if ds is not None and tuple(ds.vocab.tokens) == vocab.tokens and ds.vocab.max_tokens == vocab.max_tokens:
        index = {iid: i + 1 for i, iid in enumerate(ds.item_ids)}
        if all(iid in index for iid in ids):
            return ds.item_tokens[[index[iid] for iid in ids]]
    docs = []
    for title, cats, brand in zip(
        served.items.get("titles", [None] * len(ids)),
        served.items.get("categories", [[]] * len(ids)),
        served.items.get("brands", [None] * len(ids)),
    ):
        doc = tokenize(title)
        for c in cats or []:
            doc += tokenize(c)
        docs.append(doc + tokenize(brand))
    return vocab.encode(docs)


def text_cosines(served: Served, tokens: np.ndarray, batch: int = 1024) -> np.ndarray:
    """(N,) cosine of text_encoder(tokens of row r) with served row r; NaN where either is zero."""
    outs = []
    for lo in range(0, len(tokens), batch):
        outs.append(served.text_encoder.run(["text_emb"], {"tokens": tokens[lo : lo + batch].astype(np.int64)})[0])
    t = np.concatenate(outs).astype(np.float64)
    e = served.table.astype(np.float64)
    denom = np.linalg.norm(t, axis=1) * np.linalg.norm(e, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (t * e).sum(1) / np.where(denom > 0, denom, 1), np.nan)


# ---------------------------------------------------------------------------------------------------
# Item labels and PCA


def item_labels(served: Served) -> list[str]:
    """Each row's category at the level the trainer used (manifest.categories), '(none)' otherwise."""
    level = (served.manifest.get("dataset") or {}).get("cleaning", {}).get("category_level", 0)
    known = set(served.manifest.get("categories") or [])
    out = []
    for path in served.items.get("categories") or [[] for _ in served.items["ids"]]:
        lab = path[level] if path and len(path) > level else None
        out.append(lab if lab in known else "(none)")
    return out


def pca_2d(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) projection on the two main principal components and their explained-variance ratios."""
    c = x.astype(np.float64) - x.mean(0, keepdims=True)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    var = s**2
    return c @ vt[:2].T, var[:2] / max(var.sum(), 1e-12)


# ---------------------------------------------------------------------------------------------------
# Figures


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _plt().close(fig)
    return path


def plot_training(log: list[dict], path: Path) -> Path:
    """Loss parts (one panel each, shared epochs) and validation HR/NDCG@10."""
    plt = _plt()
    parts = [k for k in ("loss", "retrieval", "user", "item", "rank", "text") if all(k in e for e in log)]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ep = [e["epoch"] for e in log]
    for k in parts:
        ys = np.array([e[k] for e in log])
        ax[0].plot(ep, ys / ys[0], label=f"{k} (epoch 1: {ys[0]:.3g})", marker="o", ms=3)
    ax[0].set_title("training losses, relative to epoch 1")
    ax[0].set_xlabel("epoch")
    ax[0].legend(fontsize=7)
    ve = [e for e in log if "valid" in e]
    for k in ("hr@10", "ndcg@10"):
        ax[1].plot([e["epoch"] for e in ve], [e["valid"][k] for e in ve], label=k, marker="o", ms=3)
    ax[1].set_title("validation (full ranking)")
    ax[1].set_xlabel("epoch")
    ax[1].legend(fontsize=7)
    return _save(fig, path)


def plot_pca(xy: np.ndarray, ratio: np.ndarray, labels: list[str], path: Path) -> Path:
    """Scatter of the PCA projection, one colour per label (most frequent first)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 6))
    uniq = sorted(set(labels), key=lambda c: (c == "(none)", -labels.count(c), c))
    lab = np.array(labels)
    cmap = plt.get_cmap("tab20" if len(uniq) > 10 else "tab10")
    for i, c in enumerate(uniq[:20]):
        m = lab == c
        ax.scatter(xy[m, 0], xy[m, 1], s=6, alpha=0.6, color=cmap(i % cmap.N), label=f"{c} ({int(m.sum())})")
    if len(uniq) > 20:
        m = ~np.isin(lab, uniq[:20])
        ax.scatter(xy[m, 0], xy[m, 1], s=6, alpha=0.4, color="lightgray", label=f"other ({int(m.sum())})")
    ax.set_xlabel(f"PC1 ({ratio[0]:.1%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.1%} of variance)")
    ax.set_title("served item embeddings (int8 rows x scale), PCA")
    ax.legend(fontsize=7, markerscale=2, loc="best")
    return _save(fig, path)


def plot_reliance(rows: list[dict], path: Path, metric: str = "ndcg@10") -> Path:
    """Horizontal bars of `metric` per perturbation, with the intact value as a line."""
    plt = _plt()
    base = rows[0]["metrics"][metric]
    names = [r["variant"] for r in rows[1:]]
    vals = [r["metrics"][metric] for r in rows[1:]]
    groups = [r["group"] for r in rows[1:]]
    colours = {"drop history": "tab:blue", "event types": "tab:orange", "recency": "tab:green"}
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    ax.barh(y, vals, color=[colours.get(g, "gray") for g in groups])
    ax.axvline(base, color="black", ls="--", lw=1, label=f"intact {base:.4f}")
    for yi, v in zip(y, vals):
        ax.text(v, yi, f" {v:.4f} ({(v - base) / base:+.0%})" if base > 0 else f" {v:.4f}", va="center", fontsize=7)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel(f"test {metric.upper()}, served int8 path")
    ax.set_xlim(0, max(vals + [base]) * 1.3 + 1e-9)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("what the user encoder relies on")
    return _save(fig, path)


def plot_text(cos: np.ndarray, warm: np.ndarray | None, labels: list[str], path: Path) -> Path:
    """Histogram of text-vs-item cosines (warm vs text-only items) and mean cosine per category."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    ok = np.isfinite(cos)
    lo = float(np.nanmin(cos)) if ok.any() else -1.0
    bins = np.linspace(min(lo, 0.999) - 0.005, 1.0, 41)  # zoomed on the observed range
    if warm is not None:
        ax[0].hist(
            cos[ok & warm], bins=bins, alpha=0.7, label=f"items with training interactions ({int((ok & warm).sum())})"
        )
        ax[0].hist(cos[ok & ~warm], bins=bins, alpha=0.7, label=f"items without ({int((ok & ~warm).sum())})")
        ax[0].legend(fontsize=7)
    else:
        ax[0].hist(cos[ok], bins=bins)
    ax[0].set_xlabel("cosine(text_encoder(item text), item embedding)")
    ax[0].set_title("how much of an item embedding its text explains")
    lab = np.array(labels)
    cats = sorted(set(labels), key=lambda c: (c == "(none)", c))
    sel = ok & (warm if warm is not None else True)
    means = [float(np.nanmean(cos[sel & (lab == c)])) if (sel & (lab == c)).any() else 0.0 for c in cats]
    ax[1].barh(np.arange(len(cats))[::-1], means, color="tab:purple")
    for yi, v in zip(np.arange(len(cats))[::-1], means):
        ax[1].text(v, yi, f" {v:.3f}", va="center", fontsize=7)
    ax[1].set_yticks(np.arange(len(cats))[::-1], cats, fontsize=7)
    ax[1].set_xlabel("mean cosine" + (" (items with interactions)" if warm is not None else ""))
    ax[1].set_xlim(min(0, min(means, default=0)), 1.15)
    ax[1].set_title("by category")
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------------
# HTML


def _table(head: list[str], rows: list[list], fmt: str = "{:.4f}") -> str:
    def cell(v) -> str:
        return fmt.format(v) if isinstance(v, float) else html.escape(str(v))

    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}</figcaption></figure>'


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}
td:first-child,th:first-child{text-align:left}img{max-width:100%}figure{margin:0.5em 0}figcaption{font-size:11px;color:#777}
.note{color:#555;font-size:13px}"""


def load_baselines(path: str | Path | None) -> dict[str, dict]:
    """`{name: {metric: value}}` from a JSON file (a list of `{"name", ...metrics}` also works)."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    if isinstance(data, list):
        return {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in data}
    return data


def run(
    artifact: str | Path,
    ds: SeqDataset | None = None,
    out: str | Path | None = None,
    baselines_file: str | Path | None = None,
    max_users: int = 0,
    computed_baselines: bool = True,
) -> Path:
    """Writes `report.html` and its PNGs into `out` (default ARTIFACT/report); returns the html path."""
    served = load_served(artifact)
    m = served.manifest
    out = Path(out) if out else served.directory / "report"
    out.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []
    summary: dict = {"artifact": m.get("version"), "dataset": m.get("dataset", {}).get("name")}

    # 1. Training
    log_path = served.directory / "report" / "train_log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()] if log_path.exists() else []
    tr = m.get("training", {})
    s = [
        f"<h2>Training</h2><p>{tr.get('epochs', '?')} epochs in {tr.get('seconds', '?')} s on {tr.get('device', '?')}, "
        f"best epoch {tr.get('bestEpoch', '?')} (validation NDCG@10, early stopping).</p>"
    ]
    planned = (m.get("config") or {}).get("train", {}).get("epochs")
    if planned and tr.get("epochs") and tr["epochs"] < planned and tr.get("bestEpoch") == tr["epochs"]:
        s.append(
            f"<p class=note>Stopped after {tr['epochs']} of {planned} epochs while validation was still improving "
            f"(train.max_minutes = {m['config']['train'].get('max_minutes')}): the model is not converged.</p>"
        )
    if log:
        s.append(_img(plot_training(log, out / "training.png"), "training curves"))
        best = max((e for e in log if "valid" in e), key=lambda e: e["valid"]["ndcg@10"], default=None)
        if best:
            s.append(
                f"<p class=note>Best validation: epoch {best['epoch']}, HR@10 {best['valid']['hr@10']:.4f}, NDCG@10 {best['valid']['ndcg@10']:.4f}.</p>"
            )
    else:
        s.append(f"<p class=note>No training log ({log_path} is missing).</p>")
    sections.append("".join(s))

    # 2. Results
    names = {"fp32": "edgerec fp32", "int8": "edgerec int8 (served)", "valid": "edgerec fp32, validation"}
    rows = [
        [label, *[m["metrics"][k][key] for key in METRIC_KEYS]]
        for k, label in names.items()
        if k in m.get("metrics", {})
    ]
    base = load_baselines(baselines_file)
    if ds is not None and computed_baselines:
        from .baselines import cooccurrence, popularity

        test = split(ds, "test", m["maxLen"])
        base.setdefault("popularity (computed here)", popularity(ds, test))
        base.setdefault("item-to-item co-occurrence (computed here)", cooccurrence(ds, test))
    for name, vals in base.items():
        rows.append([name, *[vals.get(k, "") for k in METRIC_KEYS]])
    protocol = m.get("metrics", {}).get("protocol", "leave-one-out by time, full ranking, history excluded")
    s = [f"<h2>Results</h2><p>Test split: {html.escape(protocol)}.</p>", _table(["model", *METRIC_KEYS], rows)]
    p = m.get("parity")
    if p:
        s.append(
            f"<p class=note>Parity fp32 vs served int8: top-10 agreement {p['top10Agreement']:.4f}, "
            f"NDCG@10 relative drop {p['ndcg10RelativeDrop']:+.4f}, passed: {p['passed']}.</p>"
        )
    is_beauty = "beauty" in str(m.get("dataset", {}).get("name", "")).lower()
    if is_beauty:
        pub = [[name, hr, nd] for name, (hr, nd) in PUBLISHED_BEAUTY.items()]
        pub.append(["edgerec int8 (this artifact)", m["metrics"]["int8"]["hr@10"], m["metrics"]["int8"]["ndcg@10"]])
        pub.sort(key=lambda r: r[2])
        s.append(
            "<h3>Published full-ranking numbers on this Beauty split</h3>" + _table(["model", "hr@10", "ndcg@10"], pub)
        )
    summary["results"] = {r[0]: dict(zip(METRIC_KEYS, r[1:])) for r in rows}
    sections.append("".join(s))

    # 3. Item embeddings
    labels = item_labels(served)
    xy, ratio = pca_2d(served.table)
    s = [
        "<h2>Item embeddings</h2><p>The served table (int8 rows times their scales), projected on its two main "
        "principal components, coloured by the category label the trainer used.</p>",
        _img(plot_pca(xy, ratio, labels, out / "item_embeddings_pca.png"), "PCA of item embeddings"),
    ]
    summary["pcaExplained"] = [float(r) for r in ratio]
    sections.append("".join(s))

    # 4. What the model relies on
    s = ["<h2>What the model relies on</h2>"]
    if ds is not None:
        arrays = eval_arrays(ds, m["maxLen"], max_users)
        rel = reliance(served, ds, arrays)
        s.append(
            f"<p>Served int8 path on {len(arrays.users)} test histories, one input perturbed at a time. "
            "'users changed' counts histories the perturbation alters (the metric is over all of them).</p>"
        )
        s.append(_img(plot_reliance(rel, out / "reliance_ndcg10.png"), "reliance bar chart"))
        s.append(
            _table(
                ["perturbation", "users changed", "hr@10", "ndcg@10", "mrr"],
                [
                    [
                        r["variant"],
                        r["users_changed"],
                        r["metrics"]["hr@10"],
                        r["metrics"]["ndcg@10"],
                        r["metrics"]["mrr"],
                    ]
                    for r in rel
                ],
            )
        )
        summary["reliance"] = rel
    else:
        s.append("<p class=note>No evaluation data given (--events/--beauty/--recbole): perturbations skipped.</p>")
    if served.text_encoder is not None:
        tokens = item_tokens(served, ds)
        cos = text_cosines(served, tokens)
        warm = None
        if ds is not None:
            index = {iid: i + 1 for i, iid in enumerate(ds.item_ids)}
            warm = np.array([ds.train_counts[index[iid]] > 0 if iid in index else True for iid in served.items["ids"]])
        s.append(
            "<h3>Text vs item embedding</h3><p>Cosine of the int8 text encoder's output for each item's own text "
            "with the item's served embedding. Items without training interactions are embedded from text alone "
            "(cosine near 1); for the others, the gap from 1 is what the id embedding adds.</p>"
        )
        s.append(_img(plot_text(cos, warm, labels, out / "text_vs_item.png"), "text vs item cosine"))
        ok = np.isfinite(cos)
        groups = [("all items", ok)]
        if warm is not None:
            groups += [("with training interactions", ok & warm), ("without (text only)", ok & ~warm)]
        stats = [
            [name, int(sel.sum()), float(cos[sel].mean()), float(np.median(cos[sel])), float((cos[sel] ** 2).mean())]
            for name, sel in groups
            if sel.any()
        ]
        s.append(_table(["items", "count", "mean cosine", "median cosine", "mean cosine²"], stats))
        s.append("<p class=note>cosine² is the share of an item embedding's squared norm along its text vector.</p>")
        summary["textCosine"] = {
            r[0]: {"count": r[1], "mean": r[2], "median": r[3], "meanSquared": r[4]} for r in stats
        }
    else:
        s.append("<p class=note>The artifact has no text encoder.</p>")
    sections.append("".join(s))

    title = f"edgerec report: {m.get('dataset', {}).get('name', '?')} / {m.get('version', '?')}"
    ds_info = m.get("dataset", {})
    head = (
        f"<h1>{html.escape(title)}</h1><p class=note>{ds_info.get('users', '?')} users, {ds_info.get('items', '?')} items, "
        f"{ds_info.get('events', '?')} events; dim {m.get('dim')}, maxLen {m.get('maxLen')}; created {m.get('createdAt')}.</p>"
    )
    doc = f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title><style>{CSS}</style></head><body>{head}{''.join(sections)}</body></html>"
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=float))
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    ap = argparse.ArgumentParser(prog="python -m edgerec.report", description=__doc__.split("\n")[0])
    ap.add_argument("--artifact", required=True)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--events")
    src.add_argument("--beauty")
    src.add_argument("--recbole")
    ap.add_argument("--items")
    ap.add_argument("--baselines", help="JSON {name: {metric: value}} of extra baseline rows")
    ap.add_argument("--no-computed-baselines", action="store_true", help="skip popularity / co-occurrence on the data")
    ap.add_argument(
        "--max-users", type=int, default=0, help="perturbation analysis on this many random test users (0 = all)"
    )
    ap.add_argument("--out", help="output folder (default ARTIFACT/report)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
    ds = None
    if args.events or args.beauty or args.recbole:
        cfg = load_served(args.artifact).config()
        ds = load_dataset(cfg.data, events=args.events, items=args.items, beauty=args.beauty, recbole=args.recbole)
    path = run(args.artifact, ds, args.out, args.baselines, args.max_users, not args.no_computed_baselines)
    print(f"report written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
