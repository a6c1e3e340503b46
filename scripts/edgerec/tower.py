"""`user_tower.bin` and `text_tower.bin` read back and run in numpy: the reference for the Worker's
tower kernels (src/kernel/tower.ts, text-tower.ts) and the check that the files hold the same models
as `user_encoder.int8.onnx` and `text_encoder.int8.onnx`.

Same inputs and outputs as the ONNX user encoder (left-padded histories); float64 arithmetic on the
dequantized float32 weights, so it is the exact value the float32 runtimes approximate."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import torch

from .export import TEXT_FORMAT, TOWER_FORMAT, TOWER_MAGIC


def read_tower(path: str | Path, fmt: str = TOWER_FORMAT) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and every tensor (int8 weights dequantized to float32 as `q * scale`, per column;
    the token table `tok.w` per row)."""
    raw = Path(path).read_bytes()
    if raw[:4] != TOWER_MAGIC:
        raise ValueError(f"{path}: not an edgerec tower")
    (n,) = struct.unpack("<I", raw[4:8])
    header = json.loads(raw[8 : 8 + n])
    if header["format"] != fmt:
        raise ValueError(f"{path}: format {header['format']}")
    start = (8 + n + 15) & ~15
    t = {}
    for name, spec in header["tensors"].items():
        dtype = {"int8": np.int8, "uint8": np.uint8, "uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}.get(
            spec["dtype"], np.dtype("<f4")
        )
        count = int(np.prod(spec["shape"]))
        t[name] = np.frombuffer(raw, dtype, count, start + spec["offset"]).reshape(spec["shape"])
    for name in [k for k in t if k.endswith(".w") and t[k].dtype == np.int8]:
        scale = t[name[:-2] + ".s"]
        t[name] = (t[name].astype(np.float32) * (scale[:, None] if name == "tok.w" else scale)).astype(np.float32)
    return header, t


def run_text(t: dict[str, np.ndarray], tokens: np.ndarray) -> np.ndarray:
    """text_emb (B, D) of `text_tower.bin`'s tensors for token ids (B, T), 0 = padding."""
    mask = (tokens > 0).astype(np.float64)
    count = mask.sum(1, keepdims=True)
    pooled = (t["tok.w"][tokens] * mask[..., None]).sum(1) / np.maximum(count, 1.0)
    hidden = pooled @ t["mlp1.w"] + t["mlp1.b"]
    hidden = 0.5 * hidden * (1 + _erf(hidden / math.sqrt(2)))
    return (pooled + hidden @ t["mlp2.w"] + t["mlp2.b"]) * (count > 0)


def _ln(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    return torch.erf(torch.from_numpy(np.asarray(x, np.float64))).numpy()


def run(header: dict, t: dict[str, np.ndarray], hist_emb: np.ndarray, hist_event: np.ndarray, hist_age: np.ndarray):
    """user_emb (B, D), interests (B, C), attention (B, L) for left-padded inputs."""
    B, L, D = hist_emb.shape
    H, dh = header["heads"], D // header["heads"]
    out_u, out_i, out_a = np.zeros((B, D)), np.zeros((B, header["categories"])), np.zeros((B, L))
    for b in range(B):
        real = np.flatnonzero(hist_event[b] > 0)
        n = len(real)
        if n == 0:
            x = np.zeros((1, D))
        else:
            x = hist_emb[b, real].astype(np.float64)
            if header["events"]:
                x = x + t["event_emb"][hist_event[b, real]]
            if header["recency"]:
                x = x + hist_age[b, real, None] * t["age_w"] + t["age_b"]
            x = x + t["pos_emb"][:n][::-1]
        m = len(x)
        att_last = np.zeros(m)
        for i in range(header["layers"]):
            h = _ln(x, t[f"b{i}.ln1.w"], t[f"b{i}.ln1.b"], header["eps"])
            q, k, v = np.split(h @ t[f"b{i}.qkv.w"] + t[f"b{i}.qkv.b"], 3, axis=1)
            y = np.zeros_like(x)
            att_last = np.zeros(m)
            for hd in range(H):
                sl = slice(hd * dh, (hd + 1) * dh)
                s = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
                s = np.where(np.tril(np.ones((m, m), bool)), s, -np.inf)
                p = np.exp(s - s.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                y[:, sl] = p @ v[:, sl]
                att_last += p[-1] / H
            x = x + y @ t[f"b{i}.out.w"] + t[f"b{i}.out.b"]
            f = _ln(x, t[f"b{i}.ln2.w"], t[f"b{i}.ln2.b"], header["eps"]) @ t[f"b{i}.ffn1.w"] + t[f"b{i}.ffn1.b"]
            f = 0.5 * f * (1 + _erf(f / math.sqrt(2)))
            x = x + f @ t[f"b{i}.ffn2.w"] + t[f"b{i}.ffn2.b"]
        u = _ln(x[-1], t["lnf.w"], t["lnf.b"], header["lnfEps"])
        logits = u @ t["interest.w"] + t["interest.b"]
        e = np.exp(logits - logits.max())
        out_u[b], out_i[b] = u, e / e.sum()
        if n == 0:
            out_a[b] = 1.0 / L if header["layers"] else 0.0
        else:
            out_a[b, real] = att_last if header["layers"] else 0.0
    return out_u, out_i, out_a
