"""ONNX export and int8 quantization (stage 6).

- `user_encoder.onnx` / `user_encoder.int8.onnx`: the `UserEncoder` (signature in docs/ARTIFACTS.md).
- `text_encoder.int8.onnx`: `tokens` int64 (B, T) -> `text_emb` float32 (B, D), same space as items.
- `ranker.int8.onnx`: `user_emb` (B, D), `cand_emb` (B, K, D) -> `action_logits` (B, K, A).
- `item_emb.int8.bin` + `item_scale.f32.bin`: symmetric per-row int8 item embeddings.

The int8 models come from `onnxruntime.quantization.quantize_dynamic` with QInt8 weights: every
MatMul with a constant weight becomes DynamicQuantizeLinear + MatMulInteger (runs in
onnxruntime-web's WASM CPU backend). Activation x activation MatMuls (attention scores) stay fp32
(`MatMulConstBOnly`), which keeps the attention weights used for explanations accurate.

Weights are per-channel and `reduce_range` (7-bit). Without it, onnxruntime's x86 AVX2 / AVX-512
(non-VNNI) u8s8 kernels saturate 16-bit intermediate sums (vpmaddubsw): on the tiny test model
that moved user_emb by up to 0.5 (norm ~1) on this machine, while the WASM kernel the Worker runs does
not saturate. With 7-bit weights both agree (max |diff| ~0.03 vs fp32), so the Python int8 numbers are
the served ones on every backend, onnxruntime-node included.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from .model import EdgeRec

OPSET = 17
USER_INPUTS = ("hist_emb", "hist_event", "hist_age")
USER_OUTPUTS = ("user_emb", "interests", "attention")


def quantize_rows(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 (docs/ARTIFACTS.md): scale[r] = max|e[r]| / 127,
    q[r] = round(e[r] / scale[r]) clipped to [-127, 127]; a zero row has scale 0 and q 0.
    Returns q (N, D) int8 and scale (N,) float32."""
    emb = np.asarray(emb, dtype=np.float32)
    scale = (np.abs(emb).max(axis=1) / np.float32(127.0)).astype(np.float32)  # (N,)
    safe = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float64)
    q = np.clip(np.round(emb.astype(np.float64) / safe[:, None]), -127, 127)
    q = np.where(scale[:, None] > 0, q, 0).astype(np.int8)
    return q, scale


def write_item_tables(q: np.ndarray, scale: np.ndarray, out_dir: Path) -> tuple[Path, Path]:
    """Writes `item_emb.int8.bin` (row-major int8) and `item_scale.f32.bin` (little-endian float32)."""
    emb_path, scale_path = out_dir / "item_emb.int8.bin", out_dir / "item_scale.f32.bin"
    np.ascontiguousarray(q, dtype=np.int8).tofile(emb_path)
    np.ascontiguousarray(scale, dtype="<f4").tofile(scale_path)
    return emb_path, scale_path


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict) -> None:
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(onnx.load(str(path)))


def quantize(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 quantization (QInt8 weights, MatMulInteger), checked to contain MatMulInteger."""
    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        extra_options={"MatMulConstBOnly": True},
    )
    ops = {n.op_type for n in onnx.load(str(int8_path)).graph.node}
    if "MatMulInteger" not in ops:
        raise RuntimeError(f"{int8_path}: quantize_dynamic produced no MatMulInteger (ops: {sorted(ops)})")


def export_user_encoder(model: EdgeRec, out_dir: Path) -> tuple[Path, Path]:
    """`user_encoder.onnx` (fp32) and `user_encoder.int8.onnx`."""
    cfg = model.cfg
    L, D = cfg.data.max_len, cfg.model.dim
    g = torch.Generator().manual_seed(0)
    args = (
        torch.randn(2, L, D, generator=g),
        torch.randint(1, 5, (2, L), generator=g),
        torch.rand(2, L, generator=g),
    )
    fp32 = out_dir / "user_encoder.onnx"
    int8 = out_dir / "user_encoder.int8.onnx"
    # B is free; with model.dynamic_length so is the history length L: 8 events run on 8 slots, not
    # max_len (positions count from the end and padding is masked, so the outputs do not change).
    dynamic = {n: {0: "B"} for n in USER_INPUTS + USER_OUTPUTS}
    if cfg.model.dynamic_length:
        for n in (*USER_INPUTS, "attention"):
            dynamic[n][1] = "L"
    _export(model.user, args, fp32, list(USER_INPUTS), list(USER_OUTPUTS), dynamic)
    quantize(fp32, int8)
    return fp32, int8


def export_text_encoder(model: EdgeRec, out_dir: Path, fp32_dir: Path) -> tuple[Path, Path]:
    """`text_encoder.int8.onnx` (its fp32 twin goes to `fp32_dir`, not into the artifact)."""
    t = model.dims.max_tokens
    tokens = torch.randint(0, model.dims.vocab_size, (2, t), generator=torch.Generator().manual_seed(0))
    fp32 = fp32_dir / "text_encoder.onnx"
    int8 = out_dir / "text_encoder.int8.onnx"
    _export(model.items.text, (tokens,), fp32, ["tokens"], ["text_emb"], {"tokens": {0: "B"}, "text_emb": {0: "B"}})
    quantize(fp32, int8)
    return fp32, int8


def export_ranker(model: EdgeRec, out_dir: Path, fp32_dir: Path) -> tuple[Path, Path]:
    """`ranker.int8.onnx` (its fp32 twin goes to `fp32_dir`)."""
    D = model.cfg.model.dim
    g = torch.Generator().manual_seed(0)
    args = (torch.randn(2, D, generator=g), torch.randn(2, 3, D, generator=g))
    fp32 = fp32_dir / "ranker.onnx"
    int8 = out_dir / "ranker.int8.onnx"
    dynamic = {"user_emb": {0: "B"}, "cand_emb": {0: "B", 1: "K"}, "action_logits": {0: "B", 1: "K"}}
    _export(model.ranker, args, fp32, ["user_emb", "cand_emb"], ["action_logits"], dynamic)
    quantize(fp32, int8)
    return fp32, int8


def run(model: EdgeRec, out_dir: str | Path, fp32_dir: str | Path) -> dict[str, Path]:
    """Exports every model and the int8 item tables into `out_dir`; returns the paths by role."""
    out_dir, fp32_dir = Path(out_dir), Path(fp32_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32_dir.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    with torch.no_grad():
        table = model.item_table()[1:].numpy()  # (N, D)
    q, scale = quantize_rows(table)
    emb_path, scale_path = write_item_tables(q, scale, out_dir)
    user_fp32, user_int8 = export_user_encoder(model, out_dir)
    text_fp32, text_int8 = export_text_encoder(model, out_dir, fp32_dir)
    ranker_fp32, ranker_int8 = export_ranker(model, out_dir, fp32_dir)
    return {
        "userEncoder": user_int8,
        "userEncoderFp32": user_fp32,
        "itemEmbeddings": emb_path,
        "itemScales": scale_path,
        "textEncoder": text_int8,
        "textEncoderFp32": text_fp32,
        "ranker": ranker_int8,
        "rankerFp32": ranker_fp32,
    }
