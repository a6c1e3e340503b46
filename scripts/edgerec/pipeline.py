"""The whole training command as one function: train -> evaluate -> export -> quantize -> parity ->
artifact. `cli.py` parses arguments and calls `run`."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import artifact, export, parity, train
from .config import Config
from .data import SeqDataset, split
from .evaluate import Exclusions, evaluate_served, evaluate_torch
from .metrics import METRIC_KEYS


@dataclass
class PipelineResult:
    """What the training command produced."""

    manifest: dict
    parity: parity.ParityReport
    train: train.TrainResult


def run(
    cfg: Config,
    ds: SeqDataset,
    out_dir: str | Path,
    quiet: bool = False,
    started: float | None = None,
    trained: train.TrainResult | None = None,
) -> PipelineResult | None:
    """Trains on `ds` (or takes `trained`, a model trained earlier) and writes the artifact directory
    `out_dir` (replacing its artifact files). Does not raise on a parity failure: the caller decides
    (the CLI exits non-zero). Under torchrun every rank trains; only rank 0 evaluates and writes (the
    others return None)."""
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's "consider pre-processing" warning
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report"
    fp32_dir = report / "fp32"
    if fp32_dir.exists():
        shutil.rmtree(fp32_dir)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    t_start = time.time()

    say(f"edgerec: {ds.name}: {ds.num_users} users, {ds.num_items} items, {len(ds.items)} events; cleaning {ds.counts}")
    result = trained or train.run(cfg, ds, report, quiet=quiet)
    if int(os.environ.get("RANK", "0")) != 0:
        return None
    if trained:
        say(f"edgerec: model from a checkpoint (best epoch {result.best_epoch}), not trained again")
    else:
        say(
            f"edgerec: trained {result.epochs} epochs in {result.seconds:.0f}s on {result.device}, best epoch {result.best_epoch}"
        )

    t0 = time.time()
    test = split(ds, "test", cfg.data.max_len)
    valid = split(ds, "valid", cfg.data.max_len)
    test_ex = Exclusions(ds, test)
    bs = cfg.train.eval_batch_size
    fp32 = evaluate_torch(result.model, ds, test, bs, "cpu", test_ex)
    valid_res = evaluate_torch(result.model, ds, valid, bs, "cpu")

    paths = export.run(result.model, out, fp32_dir)
    q = np.fromfile(paths["itemEmbeddings"], dtype=np.int8).reshape(ds.num_items, cfg.model.dim)
    scale = np.fromfile(paths["itemScales"], dtype="<f4")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = train.cpu_threads(cfg.train.threads)
    session = ort.InferenceSession(str(paths["userEncoder"]), opts, providers=["CPUExecutionProvider"])
    int8 = evaluate_served(session, q, scale, ds, test, bs, test_ex)
    rep = parity.run(cfg.parity, result.model, paths, q, scale, test, fp32, int8)
    say(f"edgerec: evaluated, exported and checked parity in {time.time() - t0:.0f}s")

    metrics = {"fp32": fp32.metrics, "int8": int8.metrics, "valid": valid_res.metrics}
    training = {
        "seconds": round(result.seconds, 1),
        # the whole command: reading and cleaning data (when `started` is given), warm start,
        # training, evaluation, export, quantization and parity
        "totalSeconds": round(time.time() - (started or t_start), 1),
        "device": result.device,
        "epochs": result.epochs,
        "bestEpoch": result.best_epoch,
    }
    manifest = artifact.write(out, ds, cfg, paths, metrics, rep.as_manifest(), training)
    return PipelineResult(manifest, rep, result)


def metrics_table(metrics: dict[str, dict]) -> str:
    """A Markdown table of metric rows (e.g. fp32 / int8 / valid)."""
    head = "| model | " + " | ".join(METRIC_KEYS) + " |"
    rule = "| --- " * (len(METRIC_KEYS) + 1) + "|"
    rows = [f"| {name} | " + " | ".join(f"{m[k]:.4f}" for k in METRIC_KEYS) + " |" for name, m in metrics.items()]
    return "\n".join([head, rule, *rows])
