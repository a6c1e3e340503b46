"""Command line: `python -m edgerec.cli {train,reference,baselines} ...` (run through scripts/py.sh).

    train      --events E [--items I] | --beauty DIR | --recbole PREFIX|DIR  --out DIR
               [--device cpu|cuda] [--epochs N] [--config Y] [--seed S] [--set section.key=value ...]
    reference  --artifact DIR --history '[{"itemId": "...", "event": "view"}]' [--k 10]
    baselines  (same data flags as train) [--config Y] [--epochs N]

Input the trainer cannot use (a missing file, no user_id column, no usable event, ...) ends with one
line, `edgerec train: error: events file x.csv: ...`, and exit status 2, before any training.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

from .config import load_config


def _data_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--events", help="events file (CSV, JSONL or Parquet)")
    src.add_argument(
        "--beauty",
        help="S3-Rec sequence format: a folder (Beauty.txt, Beauty.item, ...), or one data set of a folder "
        "holding several: its NAME.txt (or the path without .txt)",
    )
    src.add_argument(
        "--recbole",
        help="RecBole atomic files: prefix PREFIX (PREFIX.inter, PREFIX.item) or folder NAME/ holding NAME.inter",
    )
    p.add_argument("--items", help="item catalog (CSV, JSONL or Parquet), with --events")
    p.add_argument("--config", help="YAML file overriding the defaults of config.py")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override one config value")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])


def _config(args: argparse.Namespace):
    overrides = list(args.set)
    for flag, key in (("epochs", "train.epochs"), ("seed", "train.seed"), ("device", "train.device")):
        if getattr(args, flag, None) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    return load_config(args.config, overrides)


def _dataset(args: argparse.Namespace, cfg):
    from .data import load_dataset

    return load_dataset(cfg.data, events=args.events, items=args.items, beauty=args.beauty, recbole=args.recbole)


def cmd_train(args: argparse.Namespace) -> int:
    from . import pipeline

    started = time.time()
    trained = None
    if args.from_checkpoint:
        # An earlier run's model, exported, evaluated and checked again (a newer exporter, say): its
        # own config applies, and the data must be the data it was trained on.
        import shutil
        from pathlib import Path

        from .model import load_checkpoint
        from .train import TrainResult

        model, ck = load_checkpoint(args.from_checkpoint)
        cfg = model.cfg
        ds = _dataset(args, cfg)
        if ds.num_items != model.dims.n_items:
            print(
                f"edgerec: {args.from_checkpoint} was trained on {model.dims.n_items} items, the data has {ds.num_items}",
                file=sys.stderr,
            )
            return 2
        report = Path(args.out) / "report"
        report.mkdir(parents=True, exist_ok=True)
        if Path(args.from_checkpoint).resolve() != (report / "checkpoint.pt").resolve():
            shutil.copyfile(args.from_checkpoint, report / "checkpoint.pt")
        trained = TrainResult(
            model,
            best_epoch=int(ck.get("epoch", 0)),
            epochs=int(ck.get("epochs", ck.get("epoch", 0))),
            seconds=float(ck.get("train_seconds", 0.0)),
            device="cpu",
        )
    else:
        cfg = _config(args)
        ds = _dataset(args, cfg)
    res = pipeline.run(cfg, ds, args.out, quiet=args.quiet, started=started, trained=trained)
    if res is None:  # a torchrun worker other than rank 0
        return 0
    m = res.manifest
    print(pipeline.metrics_table({k: m["metrics"][k] for k in ("fp32", "int8", "valid")}))
    p = m["parity"]
    print(
        f"parity: top10Agreement={p['top10Agreement']:.4f} ndcg10RelativeDrop={p['ndcg10RelativeDrop']:+.4f} "
        f"ndcg10Drop={p['ndcg10Drop']:+.4f} (standard error {p['ndcg10DropStdErr']:.4f}) "
        f"maxAbsUserEmbDiff={p['maxAbsUserEmbDiff']:.2e} (int8 {p['maxAbsUserEmbDiffInt8']:.2e})"
    )
    t = m["training"]
    print(
        f"artifact {m['version']} written to {args.out} (training {t['seconds']}s, whole command {t['totalSeconds']}s, on {t['device']})"
    )
    for w in res.parity.warnings:
        print(f"edgerec: parity warning: {w}", file=sys.stderr)
    if not res.parity.passed:
        print(
            "edgerec: PARITY CHECK FAILED, do not publish this artifact:\n  " + "\n  ".join(res.parity.failures),
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    from .reference import load_artifact, recommend

    history = json.loads(args.history)
    if not isinstance(history, list):
        raise SystemExit("--history must be a JSON list of {itemId, event} objects")
    print(json.dumps(recommend(load_artifact(args.artifact), history, args.k)))
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    from . import baselines

    cfg = _config(args)
    ds = _dataset(args, cfg)
    print(baselines.run(cfg, ds))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
    parser = argparse.ArgumentParser(
        prog="edgerec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train, evaluate, export, quantize, check parity, write the artifact")
    _data_args(p)
    p.add_argument("--out", required=True, help="artifact directory to write")
    p.add_argument("--quiet", action="store_true", help="no per-epoch log or progress bar")
    p.add_argument(
        "--from-checkpoint",
        metavar="PATH",
        help="skip training: export, evaluate and check the model of an earlier run (its report/checkpoint.pt) "
        "on the same data, e.g. after an exporter change; its own config applies",
    )
    p.set_defaults(fn=cmd_train)
    p = sub.add_parser("reference", help="served-path top-k for one history, as JSON")
    p.add_argument("--artifact", required=True)
    p.add_argument("--history", required=True, help='JSON list, e.g. [{"itemId": "12", "event": "view"}]')
    p.add_argument("--k", type=int, default=10)
    p.set_defaults(fn=cmd_reference)
    p = sub.add_parser("baselines", help="popularity, item-to-item co-occurrence and ID-only SASRec-CE")
    _data_args(p)
    p.set_defaults(fn=cmd_baselines)
    args = parser.parse_args(argv)
    from .data import DataError, DataWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):
            print(f"edgerec {args.command}: warning: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return args.fn(args)
        except DataError as e:  # bad input: one line; anything else is a bug and keeps its traceback
            print(f"edgerec {args.command}: error: {e}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
