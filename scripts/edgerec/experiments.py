"""Experiments run through the training command (`edgerec.cli main(["train", ...])`), one artifact per
sub-folder of `--out`, with a Markdown and a JSON table of their test metrics.

    python -m edgerec.experiments ablations --events E [--items I] | --beauty D | --recbole P --out DIR
                                            [--epochs N] [--config Y] [--set section.key=value ...]
                                            [--variants full,no-text,...]
    python -m edgerec.experiments coldstart (same data flags) --out DIR [--fraction 0.1] [--seed 0] ...

ablations
    The full model and variants of it, each trained from the same data and config plus overrides:
    `no-text` (model.use_text=false), `no-aux` (train.w_user = w_item = w_rank = w_text = 0, only the
    retrieval loss), `id-only` (both: items are ids only, one loss; the user tower still reads event
    types and recency), `sasrec-ce` (baselines.sasrec_ce_config: also no event types, recency or id
    dropout, random id init: SASRec with full-softmax cross entropy). Metrics are the manifest's:
    test split, leave-one-out, full ranking, fp32 and served int8. A variant the training command
    fails on is recorded with its error and the others still run.

coldstart
    Protocol. A random `--fraction` (10%) of the items that have interactions is withheld: every event
    on a withheld item is removed from the data, except when it is a user's last event (the test
    target under leave-one-out). The withheld items stay in the catalog with their text. So the model
    never sees a withheld item in training, in validation or in any history; for it they are
    brand-new catalog items, embedded from text alone (the item tower gives an item without training
    interactions no id embedding). The cleaned data is written to `DIR/data` (same item catalog file;
    Beauty keeps its sequence format and item files) and trained on twice through the training
    command: the full model and a no-text model (model.use_text=false). Each artifact is evaluated on
    the served int8 path (full catalog, history excluded) restricted to the test users whose target is
    a withheld item, next to popularity on the same users, and on all test users. A no-text model and
    popularity have nothing to score a withheld item with (zero embedding, zero count), so they rank
    it near the bottom: that is the floor text has to beat. Users left with fewer than
    `data.min_user_events` events after the removal are dropped by the trainer's cleaning, as usual.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np
import polars as pl
import torch

from . import cli
from .baselines import popularity, sasrec_ce_config
from .config import Config, load_config
from .data import SeqDataset, load_dataset, split, subset
from .evaluate import Exclusions, evaluate_served
from .metrics import metrics_from_ranks, target_ranks
from .report import aligned_tables, load_served


def overrides_between(base: Config, other: Config) -> list[str]:
    """`section.key=value` strings that turn `base` into `other`."""
    out = []
    for f in fields(Config):
        a, b = getattr(base, f.name), getattr(other, f.name)
        for g in fields(a):
            if getattr(a, g.name) != getattr(b, g.name):
                v = getattr(b, g.name)
                out.append(f"{f.name}.{g.name}={str(v).lower() if isinstance(v, bool) else v}")
    return out


def ablation_variants(cfg: Config) -> dict[str, list[str]]:
    """Variant name -> config overrides on top of the user's config."""
    return {
        "full": [],
        "no-text": ["model.use_text=false"],
        "no-aux": ["train.w_user=0", "train.w_item=0", "train.w_rank=0", "train.w_text=0"],
        "id-only": ["model.use_text=false", "train.w_user=0", "train.w_item=0", "train.w_rank=0", "train.w_text=0"],
        "sasrec-ce": overrides_between(cfg, sasrec_ce_config(cfg)),
    }


def data_flags(args: argparse.Namespace) -> list[str]:
    """The data flags of the training command, from parsed arguments."""
    if args.beauty:
        return ["--beauty", args.beauty]
    if args.recbole:
        return ["--recbole", args.recbole]
    return ["--events", args.events] + (["--items", args.items] if args.items else [])


def train(flags: list[str], out: Path, sets: list[str], args: argparse.Namespace) -> dict:
    """Runs the training command into `out`; returns the manifest (with the exit status added). With
    --skip-existing, a folder that already has a manifest is reused instead."""
    if args.skip_existing and (out / "manifest.json").exists():
        print(f"edgerec.experiments: reusing {out}", flush=True)
        return json.loads((out / "manifest.json").read_text())
    argv = ["train", *flags, "--out", str(out), "--quiet"]
    if args.config:
        argv += ["--config", args.config]
    if args.epochs is not None:
        argv += ["--epochs", str(args.epochs)]
    for s in sets:
        argv += ["--set", s]
    print(f"edgerec.experiments: training {out.name}: {' '.join(sets) or '(defaults)'}", flush=True)
    status = cli.main(argv)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["exitStatus"] = status
    return manifest


def _markdown(head: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    return "\n".join(
        [
            "| " + " | ".join(head) + " |",
            "| " + " | ".join("---" for _ in head) + " |",
            *("| " + " | ".join(cell(v) for v in r) + " |" for r in rows),
        ]
    )


SHOWN = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr")


def run_ablations(args: argparse.Namespace) -> dict:
    """Trains every variant into DIR/<variant>; writes DIR/ablations.{md,json}."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(args.config, args.set)
    variants = ablation_variants(cfg)
    if args.variants:
        variants = {k: variants[k] for k in args.variants.split(",")}
    results = {}
    for name, sets in variants.items():
        try:
            m = train(data_flags(args), out / name, [*args.set, *sets], args)
        except Exception as e:  # one variant the trainer cannot build must not lose the others
            print(f"edgerec.experiments: {name} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            results[name] = {"overrides": sets, "error": f"{type(e).__name__}: {e}"}
            continue
        results[name] = {
            "overrides": sets,
            "int8": m["metrics"]["int8"],
            "fp32": m["metrics"]["fp32"],
            "parityPassed": m["parity"]["passed"],
            "epochs": m["training"]["epochs"],
            "bestEpoch": m["training"]["bestEpoch"],
            "seconds": m["training"]["seconds"],
        }
    rows = [
        [
            name,
            " ".join(r["overrides"]) or "-",
            *[r["int8"][k] for k in SHOWN],
            r["fp32"]["ndcg@10"],
            r["epochs"],
            round(r["seconds"]),
            r["parityPassed"],
        ]
        if "error" not in r
        else [
            name,
            " ".join(r["overrides"]),
            *["-"] * (len(SHOWN) + 3),
            "failed: " + r["error"][:120].replace("|", "/"),
        ]
        for name, r in results.items()
    ]
    head = ["variant", "overrides", *[f"int8 {k}" for k in SHOWN], "fp32 ndcg@10", "epochs", "seconds", "parity"]
    md = (
        f"# Ablations\n\nTest split, leave-one-out, full ranking, history excluded; base config overrides: {' '.join(args.set) or 'none'}"
        f"{', epochs ' + str(args.epochs) if args.epochs is not None else ''}.\n\n" + _markdown(head, rows) + "\n"
    )
    (out / "ablations.md").write_text(md)
    (out / "ablations.json").write_text(json.dumps(results, indent=2))
    print(md)
    return results


# ---------------------------------------------------------------------------------------------------
# Cold start


def pick_withheld(ds: SeqDataset, fraction: float, seed: int) -> list[str]:
    """A random `fraction` of the items that have at least one event (ids, sorted by item index)."""
    seen = np.unique(ds.items)  # item indices 1..N with events
    k = max(1, int(round(fraction * len(seen))))
    chosen = np.sort(np.random.default_rng(seed).choice(seen, k, replace=False))
    return [ds.item_ids[i - 1] for i in chosen]


def coldstart_keep(ds: SeqDataset, withheld: list[str]) -> np.ndarray:
    """(E,) bool: keep every event except those on withheld items that are not a user's last event."""
    index = {iid: i + 1 for i, iid in enumerate(ds.item_ids)}
    is_withheld = np.zeros(ds.num_items + 1, dtype=bool)
    is_withheld[[index[i] for i in withheld]] = True
    last = np.zeros(len(ds.items), dtype=bool)
    last[ds.offsets[1:][ds.lengths() > 0] - 1] = True
    return ~is_withheld[ds.items] | last


def write_coldstart_data(ds: SeqDataset, keep: np.ndarray, out: Path, args: argparse.Namespace) -> list[str]:
    """Writes the kept events into `out` in a format the training command reads; returns its data flags.
    Beauty keeps its sequence format (item files linked); events files become CSV with the original
    catalog; RecBole data becomes CSV events plus a CSV catalog rebuilt from the dataset (titles,
    categories, brands, prices: descriptions are not kept)."""
    out.mkdir(parents=True, exist_ok=True)
    users = np.repeat(np.arange(ds.num_users), ds.lengths())[keep]
    items = ds.items[keep]
    if args.beauty:
        src = Path(args.beauty)
        name = sorted(src.glob("*.txt"))[0].stem
        lines = {}
        for u, i in zip(users.tolist(), items.tolist()):
            lines.setdefault(u, []).append(ds.item_ids[i - 1])
        (out / f"{name}.txt").write_text("".join(f"{ds.user_ids[u]} {' '.join(v)}\n" for u, v in lines.items()))
        for f in src.iterdir():
            if f.suffix != ".txt" and f.is_file() and not (out / f.name).exists():
                (out / f.name).symlink_to(f.resolve())
        return ["--beauty", str(out)]
    from .data import EVENT_TYPES

    cols = {
        "user_id": [ds.user_ids[u] for u in users.tolist()],
        "item_id": [ds.item_ids[i - 1] for i in items.tolist()],
        "event": [EVENT_TYPES[e] for e in ds.events[keep].tolist()],
    }
    if ds.has_timestamps:
        cols["timestamp"] = ds.timestamps[keep].astype(np.int64)
    pl.DataFrame(cols).write_csv(out / "events.csv")
    flags = ["--events", str(out / "events.csv")]
    if args.items:
        return flags + ["--items", args.items]
    pl.DataFrame(
        {
            "item_id": ds.item_ids,
            "title": ds.titles,
            "categories": ["|".join(c) for c in ds.item_categories],
            "brand": ds.brands,
            "price": ds.prices,
        }
    ).write_csv(out / "items.csv")
    return flags + ["--items", str(out / "items.csv")]


def rank_metrics(ranks: np.ndarray) -> dict:
    """metrics_from_ranks plus what a cold-start reader wants: HR@50, HR@100 and the median rank (1-based)."""
    out = metrics_from_ranks(ranks)
    for k in (50, 100):
        out[f"hr@{k}"] = float((ranks < k).mean()) if len(ranks) else 0.0
    out["medianRank"] = float(np.median(ranks) + 1) if len(ranks) else float("nan")
    return out


def served_ranks(artifact: Path, ds: SeqDataset, arrays) -> np.ndarray:
    """0-based target ranks of an artifact's served int8 path on the given test rows of `ds`."""
    served = load_served(artifact)
    q, scale = aligned_tables(served, ds)
    return evaluate_served(served.user_encoder, q, scale, ds, arrays).ranks


def popularity_ranks(ds: SeqDataset, arrays) -> np.ndarray:
    """0-based target ranks when every item scores its training count (same tie rule and exclusions)."""
    ex = Exclusions(ds, arrays)
    counts = torch.from_numpy(ds.train_counts[1:].astype(np.float32))
    rows, cols = ex.slice(0, len(arrays.users))
    return target_ranks(counts.expand(len(arrays.users), -1), torch.from_numpy(arrays.targets - 1), rows, cols).numpy()


def run_coldstart(args: argparse.Namespace) -> dict:
    """The protocol of the module docstring; writes DIR/coldstart.{md,json}."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(args.config, args.set)
    full = load_dataset(cfg.data, events=args.events, items=args.items, beauty=args.beauty, recbole=args.recbole)
    withheld = pick_withheld(full, args.fraction, args.seed)
    keep = coldstart_keep(full, withheld)
    flags = write_coldstart_data(full, keep, out / "data", args)
    (out / "withheld_items.json").write_text(json.dumps(withheld))

    ds = load_dataset(cfg.data, **{f.lstrip("-"): v for f, v in zip(flags[::2], flags[1::2])})
    test = split(ds, "test", cfg.data.max_len)
    index = {iid: i + 1 for i, iid in enumerate(ds.item_ids)}
    cold_idx = np.array([index[i] for i in withheld if i in index], dtype=np.int64)
    leak = int(ds.train_counts[cold_idx].sum())
    if leak:
        raise RuntimeError(f"cold-start split leaked {leak} training interactions of withheld items")
    cold_rows = np.flatnonzero(np.isin(test.targets, cold_idx))
    if len(cold_rows) == 0:
        raise SystemExit("no test target is a withheld item: use more data or a larger --fraction")
    cold = subset(test, cold_rows)

    models = {"text (full model)": [], "no text": ["model.use_text=false"]}
    results: dict = {
        "protocol": "withheld items' events removed except as a user's last event; items kept in the catalog",
        "withheldItems": len(withheld),
        "items": ds.num_items,
        "catalogItemsWithoutTrainingInteractions": int((ds.train_counts[1:] == 0).sum()),
        "testUsers": int(len(test.users)),
        "coldTestUsers": int(len(cold_rows)),
        "eventsRemoved": int((~keep).sum()),
        "models": {},
    }
    for (name, sets), folder in zip(models.items(), ("text", "no-text")):
        m = train(flags, out / folder, [*args.set, *sets], args)
        results["models"][name] = {
            "cold": rank_metrics(served_ranks(out / folder, ds, cold)),
            "all": m["metrics"]["int8"],
            "epochs": m["training"]["epochs"],
            "overrides": sets,
        }
    results["models"]["popularity"] = {
        "cold": rank_metrics(popularity_ranks(ds, cold)),
        "all": popularity(ds, test),
        "overrides": [],
    }

    cols = ("hr@10", "ndcg@10", "hr@20", "hr@50", "hr@100", "mrr", "medianRank")
    rows = [[name, *[r["cold"][k] for k in cols], r["all"]["ndcg@10"]] for name, r in results["models"].items()]
    head = ["model", *[f"cold {k}" for k in cols], "all users ndcg@10 (int8)"]
    md = (
        f"# Cold start\n\n{len(withheld)} of {ds.num_items} items withheld ({args.fraction:.0%} of the items with events, seed {args.seed}); "
        f"{results['eventsRemoved']} events removed; {len(cold_rows)} of {len(test.users)} test users have a withheld item as "
        "their target. Served int8 path, full-catalog ranking, history excluded.\n\n" + _markdown(head, rows) + "\n"
    )
    (out / "coldstart.md").write_text(md)
    (out / "coldstart.json").write_text(json.dumps(results, indent=2))
    print(md)
    return results


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
    ap = argparse.ArgumentParser(
        prog="python -m edgerec.experiments", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("experiment", choices=["ablations", "coldstart"])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--events")
    src.add_argument("--beauty")
    src.add_argument("--recbole")
    ap.add_argument("--items")
    ap.add_argument("--out", required=True)
    ap.add_argument("--config")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--variants", help="ablations: comma-separated subset of full,no-text,no-aux,id-only,sasrec-ce")
    ap.add_argument(
        "--skip-existing", action="store_true", help="reuse a model folder that already has a manifest (resume a run)"
    )
    ap.add_argument("--fraction", type=float, default=0.1, help="coldstart: share of items withheld")
    ap.add_argument("--seed", type=int, default=0, help="coldstart: which items are withheld")
    args = ap.parse_args(argv)
    if args.experiment == "ablations":
        run_ablations(args)
    else:
        run_coldstart(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
