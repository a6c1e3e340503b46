"""Stage 4, the trainer: AdamW, deterministic seeds, early stopping on validation NDCG@10.

CUDA with bf16 autocast when available, else CPU. Under `torchrun` (WORLD_SIZE > 1) the model is
wrapped in DistributedDataParallel and each rank takes every WORLD_SIZE-th batch; rank 0 evaluates
and decides when to stop.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .config import Config
from .data import DataWarning, SeqDataset, split, subset
from .evaluate import Exclusions, evaluate_torch
from .model import EdgeRec, ModelDims, build_model, save_checkpoint
from .warmstart import ppmi_svd_embeddings


@dataclass
class TrainResult:
    """The best model (eval mode, on CPU) and what happened while training it."""

    model: EdgeRec
    best_epoch: int
    epochs: int
    seconds: float
    device: str
    history: list[dict] = field(default_factory=list)
    best_valid: dict = field(default_factory=dict)


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup (container) CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def cpu_threads(configured: int) -> int:
    """torch / onnxruntime CPU threads: `configured` if > 0, else the available CPUs, at most 4.
    Decided from the machine alone, never from its load, so one command with one seed gives the same
    model whatever else runs (the float sums of a different thread count differ in the last bits, and
    over an epoch in the metrics). All of them because on idle cores 2 threads train 2x faster than 1
    (a time-budgeted run, `train.max_minutes`, gets twice the epochs); on two cores busy with other
    work, 2 OpenMP threads that wait on a descheduled partner cost ~3x the CPU time per step: set
    `train.threads=1` there."""
    if configured > 0:
        return configured
    return max(1, min(4, available_cpus()))


def set_seed(seed: int) -> None:
    """Seeds python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    """`auto` -> cuda when available, else cpu."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, pool: int = 50
) -> list[np.ndarray]:
    """Shuffled batches of row indices where each batch holds similar lengths: rows are shuffled,
    cut into pools of `pool` batches, sorted by length inside a pool, and the batches shuffled. Lets a
    batch be trimmed to its longest history instead of always running max_len slots."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * pool
    for lo in range(0, len(order), span):
        chunk = order[lo : lo + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def batch_size_for(rows: int, batch_size: int, min_steps: int) -> int:
    """`batch_size`, or, when that leaves an epoch of `rows` training rows under `min_steps` steps, the
    largest power of two (at least 32) that gives it that many."""
    if min_steps <= 0 or rows >= batch_size * min_steps:
        return batch_size
    b = 32
    while b * 2 <= batch_size and rows >= b * 2 * min_steps:
        b *= 2
    return min(b, batch_size)


def warmup_steps_for(total_steps: int, warmup_steps: int) -> int:
    """`warmup_steps`, at most a tenth of the run: on a small log (5 steps an epoch) 100 warmup steps
    were 20 epochs, and a 3-epoch run never left its warmup."""
    return min(warmup_steps, max(1, total_steps // 10))


def lr_factor(progress: float, step: int, warmup: int, schedule: str, min_ratio: float) -> float:
    """Linear warmup over `warmup` steps, then constant or cosine decay to `min_ratio` as `progress`
    (fraction of the run done) goes from 0 to 1."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown lr_schedule {schedule!r}")
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def dims_of(ds: SeqDataset) -> ModelDims:
    """Data-dependent model sizes."""
    return ModelDims(ds.num_items, len(ds.categories), ds.vocab.size, ds.vocab.max_tokens)


def run(cfg: Config, ds: SeqDataset, report_dir: str | Path | None = None, quiet: bool = False) -> TrainResult:
    """Trains on the train part, early-stops on the validation part; returns the best model."""
    t = cfg.train
    say = (lambda *a: None) if quiet or int(os.environ.get("RANK", "0")) != 0 else (lambda *a: print(*a, flush=True))
    torch.set_num_threads(cpu_threads(t.threads))  # once: the same threads, so the same sums, every epoch
    set_seed(t.seed)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(t.device)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()

    tr = split(ds, "train", cfg.data.max_len)
    batch = batch_size_for(len(tr.users), t.batch_size, t.min_steps_per_epoch)
    if batch != t.batch_size:
        say(
            f"edgerec: {len(tr.users)} training rows: batches of {batch} instead of {t.batch_size}, so an epoch "
            f"has at least {t.min_steps_per_epoch} steps (train.min_steps_per_epoch)"
        )
        cfg = replace(cfg, train=replace(t, batch_size=batch))
        t = cfg.train
    dims = dims_of(ds)
    # Full or sampled softmax, from the positions a training row really has (Beauty: ~6 of max_len 50),
    # so a short-history catalog keeps the exact loss and a long-history one does not pay for it.
    positions = float((tr.targets > 0).sum(1).mean()) if len(tr.users) else None
    model = build_model(
        cfg, dims, ds.item_tokens, ds.item_category, ds.train_counts, ds.query_tokens, ds.query_items, positions
    )
    if model.sampled:
        say(
            f"edgerec: sampled softmax ({t.sampled_softmax} shared negatives a step): {t.batch_size} rows x "
            f"{positions:.1f} positions x {dims.n_items} items is over train.full_softmax_max_logits"
        )
    if cfg.model.id_init == "cooccurrence":
        warm = ppmi_svd_embeddings(ds, cfg.model.dim, seed=t.seed)
        if warm is None:
            say(
                "edgerec: warm start: no item follows another in the training part (each user's events but the "
                "last two), nothing to learn co-occurrence from: item ids keep their random init"
            )
        else:
            with torch.no_grad():  # same scale as the random init, dim ** -0.5 per coordinate
                model.items.id_emb.weight.copy_(warm * cfg.model.dim**-0.5)
    elif cfg.model.id_init != "random":
        raise ValueError(f"unknown model.id_init {cfg.model.id_init!r}")
    model = model.to(device)
    train_model = model
    if world > 1:
        # Buffers (item tokens, categories) are constants: no need to broadcast them every step.
        train_model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device] if device.type == "cuda" else None,
            find_unused_parameters=True,
            broadcast_buffers=False,
        )

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=t.lr
    )
    va = split(ds, "valid", cfg.data.max_len)
    if 0 < t.eval_users < len(va.users):  # early stopping on a fixed random subset of validation users
        keep = np.sort(np.random.default_rng(t.seed).choice(len(va.users), t.eval_users, replace=False))
        va = subset(va, keep)
    va_ex = Exclusions(ds, va)
    if len(tr.users) == 0:
        # A warning, not a progress line: it must show under --quiet too (every user has 3 events).
        warnings.warn(
            "no training pairs (a user needs 4 events: 2 to train on, a validation and a test target): "
            "the model keeps its initial weights",
            DataWarning,
            stacklevel=2,
        )
    lengths = (tr.hist_items > 0).sum(1)
    tensors = {
        "hist_items": torch.from_numpy(tr.hist_items),
        "hist_events": torch.from_numpy(tr.hist_events),
        "hist_age": torch.from_numpy(tr.hist_age),
        "targets": torch.from_numpy(tr.targets),
        "target_events": torch.from_numpy(tr.target_events),
    }
    rng = np.random.default_rng(t.seed)
    total_steps = t.epochs * -(-len(lengths) // t.batch_size) // world
    start = time.time()
    warmup = warmup_steps_for(total_steps, t.warmup_steps)

    def schedule(step: int) -> float:
        # With a time budget the decay follows whichever runs out first, steps or minutes, so a run cut
        # short by max_minutes still ends on a small learning rate.
        done = step / max(1, total_steps)
        if t.max_minutes > 0:
            done = max(done, (time.time() - start) / (60 * t.max_minutes))
        return lr_factor(done, step, warmup, t.lr_schedule, t.min_lr_ratio)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    report = Path(report_dir) if report_dir else None
    if report and rank == 0:
        report.mkdir(parents=True, exist_ok=True)
    log_path = report / "train_log.jsonl" if report else None
    if log_path and rank == 0:
        log_path.write_text("")

    best_score, best_epoch, best_state, best_valid = -1.0, 0, None, {}
    history: list[dict] = []
    epoch = 0
    for epoch in range(1, t.epochs + 1):
        t0 = time.time()
        train_model.train()
        batches = length_bucketed_batches(lengths, t.batch_size, rng)
        if world > 1:  # every rank must take the same number of steps: wrap around to fill the last round
            rounds = -(-len(batches) // world)
            batches = (batches + batches[: rounds * world - len(batches)])[rank::world]
        sums: dict[str, float] = {}
        steps = 0
        bar = tqdm(batches, desc=f"epoch {epoch}", leave=False, disable=quiet or rank != 0, mininterval=2.0)
        for rows in bar:
            width = int(lengths[rows].max())  # trim left padding shared by the whole batch
            batch = {k: v[rows, -width:].to(device, non_blocking=True) for k, v in tensors.items()}
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_bf16):
                loss, parts = train_model(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if t.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            opt.step()
            sched.step()
            steps += 1
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            if steps % 10 == 0:
                bar.set_postfix(loss=f"{sums['loss'] / steps:.4f}")
        entry = {
            "epoch": epoch,
            **{k: v / max(1, steps) for k, v in sums.items()},
            "train_seconds": time.time() - t0,
            "threads": torch.get_num_threads(),
        }
        stop = torch.zeros(1)
        if rank == 0 and (epoch % t.eval_every == 0 or epoch == t.epochs):
            res = evaluate_torch(model, ds, va, t.eval_batch_size, device, va_ex)
            entry["valid"] = res.metrics
            score = res.metrics["ndcg@10"]
            if score > best_score:
                best_score, best_epoch, best_valid = score, epoch, res.metrics
                best_state = copy.deepcopy(model.state_dict())
                if report:
                    save_checkpoint(report / "checkpoint.pt", model, {"epoch": epoch, "valid": res.metrics})
            elif epoch - best_epoch >= t.patience:
                stop[0] = 1
        if t.max_minutes > 0 and (time.time() - start) / 60 >= t.max_minutes:
            stop[0] = 1
        entry["seconds"] = time.time() - t0
        history.append(entry)
        if rank == 0:
            if log_path:
                with log_path.open("a") as f:
                    f.write(json.dumps(entry) + "\n")
            if not quiet:
                print(format_epoch(entry), flush=True)
            if epoch == 1 and t.epochs > 1 and t.max_minutes <= 0 and not quiet:
                # A large log on a CPU can take hours at the defaults: say so while it can still be bounded.
                left = (t.epochs - 1) * entry["seconds"] / 60
                say(
                    f"edgerec: up to {t.epochs - 1} more epochs, ~{left:.0f} min at this pace (early stopping after "
                    f"{t.patience} without a better validation NDCG@10); --epochs N or --set train.max_minutes=M bounds it"
                )
        if world > 1:
            torch.distributed.broadcast(stop, 0)
        if stop[0] > 0:
            break
    seconds = time.time() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    model = model.cpu().eval()
    if report and rank == 0:
        plot_curve(history, report / "training_curve.png")
    return TrainResult(model, best_epoch, epoch, seconds, device.type, history, best_valid)


def format_epoch(e: dict) -> str:
    """One readable log line per epoch."""
    parts = " ".join(f"{k}={e[k]:.4f}" for k in ("loss", "retrieval", "user", "item", "rank", "text") if k in e)
    valid = e.get("valid")
    v = f" | valid hr@10={valid['hr@10']:.4f} ndcg@10={valid['ndcg@10']:.4f}" if valid else ""
    return f"epoch {e['epoch']:3d} | {parts}{v} | {e['seconds']:.1f}s, {e.get('threads', '?')} threads"


def plot_curve(history: list[dict], path: Path) -> None:
    """Training loss and validation NDCG@10 per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ep = [e["epoch"] for e in history]
    for k in ("loss", "retrieval", "user", "item", "rank", "text"):
        if all(k in e for e in history):
            ax[0].plot(ep, [e[k] for e in history], label=k)
    ax[0].set_xlabel("epoch")
    ax[0].set_title("training loss")
    if ax[0].lines:  # no training step, no loss
        ax[0].legend(fontsize=7)
    ve = [e for e in history if "valid" in e]
    ax[1].plot([e["epoch"] for e in ve], [e["valid"]["ndcg@10"] for e in ve], label="ndcg@10")
    ax[1].plot([e["epoch"] for e in ve], [e["valid"]["hr@10"] for e in ve], label="hr@10")
    ax[1].set_xlabel("epoch")
    ax[1].set_title("validation")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
