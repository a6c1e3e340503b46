"""Parity of torch vs ONNX fp32 vs ONNX int8 (stage 7). Fails loudly past the tolerances in
`ParityConfig`: `check` raises `ParityError`, and the CLI exits non-zero after writing the artifact
(whose manifest then says `"passed": false`, so a publisher refuses it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort
import torch

from .config import ParityConfig
from .data import SplitArrays
from .evaluate import session_feeds, EvalResult, dequantized_table
from . import tower
from .model import EdgeRec


class ParityError(RuntimeError):
    """The exported or quantized model disagrees with the torch model past a tolerance."""


@dataclass
class ParityReport:
    """Parity figures; `as_manifest()` is the manifest's `parity` block."""

    max_abs_user_emb_diff_fp32: float  # torch vs ONNX fp32, same (dequantized int8) history rows
    max_abs_user_emb_diff_int8: float  # torch vs ONNX int8, same inputs (informative)
    max_abs_user_tower_diff: float  # user_tower.bin (the Worker's tower kernel, in numpy) vs ONNX int8
    max_abs_text_tower_diff: float  # text_tower.bin (the Worker's text kernel, in numpy) vs ONNX int8
    max_abs_interest_diff_fp32: float
    max_abs_attention_diff_fp32: float
    max_abs_text_emb_diff_fp32: float
    max_abs_ranker_diff_fp32: float
    top10_agreement: float  # mean |top10(fp32 torch path) & top10(served int8 path)| / 10
    ndcg10_fp32: float
    ndcg10_int8: float
    ndcg10_relative_drop: float
    failures: list[str]
    ndcg10_drop: float = 0.0  # fp32 - int8 test NDCG@10 (the mean of the paired per-user differences)
    ndcg10_drop_stderr: float = 0.0  # standard error of that mean over the test users
    warnings: list[str] = field(default_factory=list)  # past a tolerance but within noise: not a failure

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_manifest(self) -> dict:
        return {
            "top10Agreement": self.top10_agreement,
            "ndcg10RelativeDrop": self.ndcg10_relative_drop,
            "ndcg10Drop": self.ndcg10_drop,
            "ndcg10DropStdErr": self.ndcg10_drop_stderr,
            "maxAbsUserEmbDiff": self.max_abs_user_emb_diff_fp32,
            "maxAbsUserEmbDiffInt8": self.max_abs_user_emb_diff_int8,
            "maxAbsUserTowerDiff": self.max_abs_user_tower_diff,
            "maxAbsTextTowerDiff": self.max_abs_text_tower_diff,
            "maxAbsInterestDiff": self.max_abs_interest_diff_fp32,
            "maxAbsAttentionDiff": self.max_abs_attention_diff_fp32,
            "maxAbsTextEmbDiff": self.max_abs_text_emb_diff_fp32,
            "maxAbsRankerDiff": self.max_abs_ranker_diff_fp32,
            "passed": self.passed,
            "failures": self.failures,
            "warnings": self.warnings,
        }


def _session(path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0


def ndcg10_per_user(ranks: np.ndarray) -> np.ndarray:
    """(B,) NDCG@10 of each user from the 0-based target ranks (one relevant item)."""
    r = np.asarray(ranks, dtype=np.float64)
    return np.where(r < 10, 1.0 / np.log2(np.maximum(r, 0.0) + 2.0), 0.0)


def paired_drop(fp32_ranks: np.ndarray, int8_ranks: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) of the per-user NDCG@10 differences fp32 minus int8 over the same users;
    the standard error is 0 with fewer than two users (nothing to estimate the noise from)."""
    d = ndcg10_per_user(fp32_ranks) - ndcg10_per_user(int8_ranks)
    if len(d) == 0:
        return 0.0, 0.0
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return float(d.mean()), se


def ndcg10_gate(
    cfg: ParityConfig, f: float, i: float, fp32_ranks: np.ndarray, int8_ranks: np.ndarray
) -> tuple[list[str], list[str]]:
    """(failures, warnings) of the int8 NDCG@10 check: `f`, `i` are the fp32 and int8 test NDCG@10,
    the ranks those of the same test users. The drop f - i may be at most the larger of the allowance
    (`max_ndcg10_relative_drop * f`) and what the test set can resolve (`ndcg10_drop_std_errors`
    standard errors of the paired per-user differences). So where the test set resolves the
    allowance (Beauty's 22k users) this is exactly the relative tolerance, and it is never looser;
    on a small test set a drop past the allowance but within its noise is a warning. NaN fails."""
    if not (np.isfinite(f) and np.isfinite(i)):
        return [f"test NDCG@10 is not a number: fp32 {f}, int8 {i}"], []
    rel = (f - i) / f if f > 0 else 0.0
    if rel <= cfg.max_ndcg10_relative_drop:
        return [], []
    drop, se = paired_drop(fp32_ranks, int8_ranks)
    allowance = cfg.max_ndcg10_relative_drop * f
    sigmas = cfg.ndcg10_drop_std_errors
    what = (
        f"int8 NDCG@10 {i:.4f} is {100 * rel:.2f}% below fp32 {f:.4f} "
        f"(tolerance {100 * cfg.max_ndcg10_relative_drop:.2f}%)"
    )

    def stats(op: str) -> str:
        return (
            f"drop {drop:.4f} {op} {sigmas:g} x standard error {se:.4f} = {sigmas * se:.4f} of the paired "
            f"per-user differences ({len(fp32_ranks)} test users)"
        )

    if not drop <= max(allowance, sigmas * se):
        return [f"{what}, and beyond the test set's noise: {stats('>')}"], []
    return [], [f"{what}, but within the test set's noise: {stats('<=')}; not a failure"]


def top10_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Mean overlap of two (B, 10) top-10 column sets, as a fraction."""
    if len(a) == 0:
        return 1.0
    return float(np.mean([len(set(x) & set(y)) / a.shape[1] for x, y in zip(a, b)]))


@torch.no_grad()
def run(
    cfg: ParityConfig,
    model: EdgeRec,
    paths: dict,
    q: np.ndarray,
    scale: np.ndarray,
    test: SplitArrays,
    fp32_result: EvalResult,
    int8_result: EvalResult,
    sample: int = 2048,
) -> ParityReport:
    """Compares the three implementations on up to `sample` test users and the full test metrics."""
    model = model.cpu().eval()
    table = dequantized_table(q, scale)
    n = min(sample, len(test.users))
    feeds = {"hist_emb": table[test.hist_items[:n]], "hist_event": test.hist_events[:n], "hist_age": test.hist_age[:n]}
    t_user, t_int, t_att = (x.numpy() for x in model.user(*(torch.from_numpy(v) for v in feeds.values())))
    fp32_session, int8_session = _session(paths["userEncoderFp32"]), _session(paths["userEncoder"])
    o_user, o_int, o_att = fp32_session.run(None, session_feeds(fp32_session, feeds))
    q_user, q_int, q_att = int8_session.run(None, session_feeds(int8_session, feeds))
    tower_diff = 0.0
    if paths.get("userTower"):
        m = min(n, 256)
        k_out = tower.run(*tower.read_tower(paths["userTower"]), *(v[:m] for v in feeds.values()))
        tower_diff = max(_max_abs(a, b[:m]) for a, b in zip(k_out, (q_user, q_int, q_att)))

    tokens = model.items.tokens[1 : n + 1].numpy()
    t_text = model.items.text(torch.from_numpy(tokens)).numpy()
    o_text = _session(paths["textEncoderFp32"]).run(None, {"tokens": tokens})[0]
    text_diff = 0.0
    if paths.get("textTower"):
        q_text = _session(paths["textEncoder"]).run(None, {"tokens": tokens})[0]
        text_diff = _max_abs(tower.run_text(tower.read_tower(paths["textTower"], tower.TEXT_FORMAT)[1], tokens), q_text)

    cand = table[test.hist_items[:n, -5:]]  # (n, 5, D): any 5 item rows per user
    t_rank = model.ranker(torch.from_numpy(t_user), torch.from_numpy(cand)).numpy()
    o_rank = _session(paths["rankerFp32"]).run(None, {"user_emb": t_user, "cand_emb": cand})[0]

    f, i = fp32_result.metrics["ndcg@10"], int8_result.metrics["ndcg@10"]
    drop, drop_se = paired_drop(fp32_result.ranks, int8_result.ranks)
    rep = ParityReport(
        max_abs_user_emb_diff_fp32=_max_abs(t_user, o_user),
        max_abs_user_emb_diff_int8=_max_abs(t_user, q_user),
        max_abs_user_tower_diff=tower_diff,
        max_abs_text_tower_diff=text_diff,
        max_abs_interest_diff_fp32=_max_abs(t_int, o_int),
        max_abs_attention_diff_fp32=_max_abs(t_att, o_att),
        max_abs_text_emb_diff_fp32=_max_abs(t_text, o_text),
        max_abs_ranker_diff_fp32=_max_abs(t_rank, o_rank),
        top10_agreement=top10_agreement(fp32_result.top10, int8_result.top10),
        ndcg10_fp32=f,
        ndcg10_int8=i,
        ndcg10_relative_drop=(f - i) / f if f > 0 else 0.0,
        failures=[],
        ndcg10_drop=drop,
        ndcg10_drop_stderr=drop_se,
    )
    fp32_diffs = {
        "user_emb": rep.max_abs_user_emb_diff_fp32,
        "interests": rep.max_abs_interest_diff_fp32,
        "attention": rep.max_abs_attention_diff_fp32,
        "text_emb": rep.max_abs_text_emb_diff_fp32,
        "action_logits": rep.max_abs_ranker_diff_fp32,
    }
    for name, diff in fp32_diffs.items():
        if not diff <= cfg.max_fp32_abs_diff:
            rep.failures.append(f"ONNX fp32 {name} differs from torch by {diff:.3g} > {cfg.max_fp32_abs_diff:g}")
    if not rep.max_abs_user_tower_diff <= cfg.max_fp32_abs_diff:
        rep.failures.append(
            f"user_tower.bin differs from ONNX int8 by {rep.max_abs_user_tower_diff:.3g} > {cfg.max_fp32_abs_diff:g}"
        )
    if not rep.max_abs_text_tower_diff <= cfg.max_fp32_abs_diff:
        rep.failures.append(
            f"text_tower.bin differs from ONNX int8 by {rep.max_abs_text_tower_diff:.3g} > {cfg.max_fp32_abs_diff:g}"
        )
    if not rep.top10_agreement >= cfg.min_top10_agreement:
        rep.failures.append(
            f"top-10 agreement fp32 vs served int8 is {rep.top10_agreement:.3f} < {cfg.min_top10_agreement:g}"
        )
    failures, warnings = ndcg10_gate(cfg, f, i, fp32_result.ranks, int8_result.ranks)
    rep.failures += failures
    rep.warnings += warnings
    return rep


def check(rep: ParityReport) -> None:
    """Raises `ParityError` listing every failed tolerance."""
    if rep.failures:
        raise ParityError("parity check failed:\n  " + "\n  ".join(rep.failures))
