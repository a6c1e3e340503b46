"""ONNX export and int8 quantization (stage 6).

- `user_encoder.onnx` / `user_encoder.int8.onnx`: the `UserEncoder` (signature in docs/ARTIFACTS.md).
- `text_encoder.int8.onnx`: `tokens` int64 (B, T) -> `text_emb` float32 (B, D), same space as items.
- `ranker.int8.onnx`: `user_emb` (B, D), `cand_emb` (B, K, D) -> `action_logits` (B, K, A).
- `item_emb.int8.bin` + `item_scale.f32.bin`: symmetric per-row int8 item embeddings.

The user tower is quantized weight-only (`int8-weight-only-per-channel`): every transformer-block
weight is int8 with one float32 scale per output column, dequantized in the graph (Cast + Mul, folded
into float32 weights when a runtime loads it) in front of its MatMul, and the activations stay
float32. Its companion `user_tower.bin` holds the same int8 weights and scales (and the small float32 tensors) in a flat layout for the Worker's own tower
kernel (src/kernel/tower.ts), which therefore computes what onnxruntime computes on the ONNX file, up
to float summation order: no activation rounding step that one runtime can take differently from
another, and padding slots (masked keys) cannot change the answer, so the free history length is exact.

The text tower is weight-only int8 the same way (its token table per row, as the item table), with
`text_tower.bin` for the Worker's kernel. The ranker comes from
`onnxruntime.quantization.quantize_dynamic` with QInt8 weights: every MatMul with a constant weight becomes DynamicQuantizeLinear + MatMulInteger.

The ranker's weights are per-channel and `reduce_range` (7-bit). Without it, onnxruntime's x86 AVX2 / AVX-512
(non-VNNI) u8s8 kernels saturate 16-bit intermediate sums (vpmaddubsw): on the tiny test model
that moved user_emb by up to 0.5 (norm ~1) on this machine, while the WASM kernel the Worker runs does
not saturate. With 7-bit weights both agree (max |diff| ~0.03 vs fp32), so the Python int8 numbers are
the served ones on every backend, onnxruntime-node included.
"""

from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from .model import EdgeRec, TextEncoder, UserEncoder

OPSET = 17
TOWER_FORMAT = "edgerec-tower/1"
TEXT_FORMAT = "edgerec-text/1"
TOWER_MAGIC = b"ERTW"
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


def _export(
    module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict
) -> None:
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


def _f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().float().numpy().astype(np.float32)


def quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column int8 of a (K, N) weight: scale[n] = max|w[:, n]| / 127 (1 for a zero
    column), q = round(w / scale) clipped to [-127, 127]. Dequantized: q * scale (float32)."""
    w = np.asarray(w, dtype=np.float32)
    scale = (np.abs(w).max(axis=0) / np.float32(127.0)).astype(np.float32)
    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
    q = np.clip(np.round(w.astype(np.float64) / scale.astype(np.float64)[None, :]), -127, 127).astype(np.int8)
    return q, scale


def tower_weights(user: UserEncoder) -> dict[str, np.ndarray]:
    """The user tower's tensors by the names of docs/ARTIFACTS.md ("user_tower.bin"). Linear weights are
    stored input-major (K, N), as x @ W; the transformer blocks' are int8 + per-column scales."""
    out: dict[str, np.ndarray] = {
        "event_emb": _f32(user.event_emb.weight),
        "age_w": _f32(user.age_proj.weight[:, 0]),
        "age_b": _f32(user.age_proj.bias),
        "pos_emb": _f32(user.pos_emb.weight),
    }
    for i, block in enumerate(user.blocks):
        out[f"b{i}.ln1.w"], out[f"b{i}.ln1.b"] = _f32(block.ln1.weight), _f32(block.ln1.bias)
        out[f"b{i}.ln2.w"], out[f"b{i}.ln2.b"] = _f32(block.ln2.weight), _f32(block.ln2.bias)
        for name, lin in (
            ("qkv", block.attn.qkv),
            ("out", block.attn.out),
            ("ffn1", block.ffn[0]),
            ("ffn2", block.ffn[2]),
        ):
            q, scale = quantize_columns(_f32(lin.weight).T)
            out[f"b{i}.{name}.w"], out[f"b{i}.{name}.s"], out[f"b{i}.{name}.b"] = q, scale, _f32(lin.bias)
    out["lnf.w"], out["lnf.b"] = _f32(user.ln_f.weight), _f32(user.ln_f.bias)
    out["interest.w"], out["interest.b"] = _f32(user.interest_head.weight).T.copy(), _f32(user.interest_head.bias)
    return out


def write_kernel_file(path: Path, header: dict, tensors: dict[str, np.ndarray]) -> None:
    """The Worker's binary container (`user_tower.bin`, `text_tower.bin`, `items.bin`): b"ERTW", uint32
    header length, the JSON header (with every tensor's dtype, shape and offset), then the tensors,
    each 16-byte aligned, little-endian. Tensors are int8, uint8, uint16, uint32 or (anything else)
    float32."""
    kept = {
        np.dtype(np.int8): "int8",
        np.dtype(np.uint8): "uint8",
        np.dtype(np.uint16): "uint16",
        np.dtype(np.uint32): "uint32",
    }
    tensors = {name: t if t.dtype in kept else np.asarray(t, dtype=np.float32) for name, t in tensors.items()}
    layout, offset = {}, 0
    for name, t in tensors.items():
        offset = (offset + 15) & ~15
        layout[name] = {"dtype": kept.get(t.dtype, "float32"), "shape": list(t.shape), "offset": offset}
        offset += t.nbytes
    head = json.dumps({**header, "tensors": layout, "dataBytes": offset}, separators=(",", ":")).encode()
    start = (8 + len(head) + 15) & ~15
    data = bytearray(start + offset)
    data[:4] = TOWER_MAGIC
    data[4:8] = struct.pack("<I", len(head))
    data[8 : 8 + len(head)] = head
    for name, t in tensors.items():
        at = start + layout[name]["offset"]
        raw = np.ascontiguousarray(t, dtype=t.dtype.newbyteorder("<")).tobytes()
        data[at : at + len(raw)] = raw
    path.write_bytes(bytes(data))


def write_tower(user: UserEncoder, max_len: int, path: Path) -> dict[str, np.ndarray]:
    """`user_tower.bin` (docs/ARTIFACTS.md); returns the tensors written."""
    cfg = user.cfg
    tensors = tower_weights(user)
    header = {
        "format": TOWER_FORMAT,
        "dim": cfg.dim,
        "heads": cfg.heads,
        "layers": cfg.layers,
        "ffn": cfg.ffn_mult * cfg.dim,
        "maxLen": max_len,
        "categories": int(tensors["interest.b"].shape[0]),
        "eps": float(user.blocks[0].ln1.eps) if len(user.blocks) else 1e-5,
        "lnfEps": float(user.ln_f.eps),
        "events": bool(cfg.use_events),
        "recency": bool(cfg.use_recency),
        "gelu": "erf",
    }
    write_kernel_file(path, header, tensors)
    return tensors


def text_weights(text: TextEncoder) -> dict[str, np.ndarray]:
    """The text tower's tensors ("text_tower.bin"): the token table int8 per row (`tok.w`, `tok.s`,
    row 0 = padding), the residual MLP's Linears int8 per column, input-major."""
    q, scale = quantize_rows(_f32(text.tok.weight))
    out = {"tok.w": q, "tok.s": scale}
    for name, lin in (("mlp1", text.mlp[0]), ("mlp2", text.mlp[2])):
        out[f"{name}.w"], out[f"{name}.s"] = quantize_columns(_f32(lin.weight).T)
        out[f"{name}.b"] = _f32(lin.bias)
    return out


def write_text_tower(text: TextEncoder, max_tokens: int, path: Path) -> dict[str, np.ndarray]:
    """`text_tower.bin` (docs/ARTIFACTS.md); returns the tensors written."""
    tensors = text_weights(text)
    vocab, dim = tensors["tok.w"].shape
    write_kernel_file(
        path,
        {"format": TEXT_FORMAT, "dim": int(dim), "vocab": int(vocab), "maxTokens": int(max_tokens), "gelu": "erf"},
        tensors,
    )
    return tensors


def quantize_weight_only(fp32_path: Path, int8_path: Path, tensors: dict[str, np.ndarray]) -> None:
    """The weight-only int8 ONNX of a tower whose kernel file holds `tensors`: each MatMul (or Gemm
    with transB) weight that is one of the int8 Linears there (matched by its quantization,
    `quantize_columns(w) == (q, scale)`) becomes that int8 initializer times its per-column scales;
    an embedding Gather whose table quantizes per row to `tok.w`/`tok.s` gathers int8 rows and their
    scales. Every weight is then exactly the float32 value the Worker's kernel uses.

    Cast + Mul, not DequantizeLinear: onnxruntime's extended optimisations fuse DequantizeLinear ->
    MatMul into a kernel that quantizes the activations too (up to 7e-3 off on user_emb, differently
    per backend); Cast + Mul of initializers is constant-folded at load into `q * scale`."""
    model = onnx.load(str(fp32_path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    linears = [
        name[:-2] for name in tensors if name.endswith(".w") and tensors[name].dtype == np.int8 and name != "tok.w"
    ]
    pending = set(linears) | ({"tok"} if "tok.w" in tensors else set())
    new_nodes = []

    def scaled(base: str, q: np.ndarray, scale: np.ndarray) -> str:
        """Adds q (int8) and scale initializers and Cast + Mul nodes; returns the float32 output name."""
        graph.initializer.remove(inits.pop(base))
        graph.initializer.extend(
            [numpy_helper.from_array(q, f"{base}_q"), numpy_helper.from_array(scale, f"{base}_scale")]
        )
        new_nodes.append(
            helper.make_node("Cast", [f"{base}_q"], [f"{base}_f"], to=onnx.TensorProto.FLOAT, name=f"{base}_Cast")
        )
        new_nodes.append(helper.make_node("Mul", [f"{base}_f", f"{base}_scale"], [f"{base}_dq"], name=f"{base}_Scale"))
        return f"{base}_dq"

    for node in graph.node:
        trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
        if node.op_type in ("MatMul", "Gemm") and node.input[1] in inits:
            w = numpy_helper.to_array(inits[node.input[1]])
            w_kn = w.T if node.op_type == "Gemm" and trans_b else w  # (K, N), as x @ W
            for lin in linears:
                q, sc = tensors[f"{lin}.w"], tensors[f"{lin}.s"]
                if (
                    lin in pending
                    and w_kn.shape == q.shape
                    and all(map(np.array_equal, quantize_columns(w_kn), (q, sc)))
                ):
                    if w_kn is w:
                        node.input[1] = scaled(node.input[1], q, sc)
                    else:  # Gemm(transB=1) keeps its (N, K) weight: q.T times one scale per row
                        node.input[1] = scaled(node.input[1], np.ascontiguousarray(q.T), sc.reshape(-1, 1))
                    pending.discard(lin)
                    break
        elif node.op_type == "Gather" and node.input[0] in inits and "tok" in pending:
            table = numpy_helper.to_array(inits[node.input[0]])
            q, sc = tensors["tok.w"], tensors["tok.s"]
            if table.shape == q.shape and all(map(np.array_equal, quantize_rows(table), (q, sc))):
                base, idx, out = node.input[0], node.input[1], node.output[0]
                graph.initializer.remove(inits.pop(base))
                graph.initializer.extend(
                    [
                        numpy_helper.from_array(q, f"{base}_q"),
                        numpy_helper.from_array(sc, f"{base}_scale"),
                        numpy_helper.from_array(np.array([-1], np.int64), f"{base}_last_axis"),
                    ]
                )
                new_nodes.extend(
                    [
                        helper.make_node("Gather", [f"{base}_q", idx], [f"{base}_rows_q"], name=f"{base}_GatherQ"),
                        helper.make_node(
                            "Cast",
                            [f"{base}_rows_q"],
                            [f"{base}_rows_f"],
                            to=onnx.TensorProto.FLOAT,
                            name=f"{base}_Cast",
                        ),
                        helper.make_node(
                            "Gather", [f"{base}_scale", idx], [f"{base}_rows_s"], name=f"{base}_GatherScale"
                        ),
                        helper.make_node(
                            "Unsqueeze",
                            [f"{base}_rows_s", f"{base}_last_axis"],
                            [f"{base}_rows_s1"],
                            name=f"{base}_Unsqueeze",
                        ),
                        helper.make_node("Mul", [f"{base}_rows_f", f"{base}_rows_s1"], [out], name=f"{base}_Scale"),
                    ]
                )
                pending.discard("tok")
                continue
        new_nodes.append(node)
    if pending:
        raise RuntimeError(f"{fp32_path}: no weight found for {sorted(pending)}")
    del graph.node[:]
    graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(int8_path))


def export_user_encoder(model: EdgeRec, out_dir: Path) -> tuple[Path, Path, Path]:
    """`user_encoder.onnx` (fp32), `user_encoder.int8.onnx` (weight-only int8) and `user_tower.bin`
    (the same int8 weights for the Worker's tower kernel)."""
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
    tower = out_dir / "user_tower.bin"
    tensors = write_tower(model.user, L, tower)
    quantize_weight_only(fp32, int8, tensors)
    return fp32, int8, tower


def export_text_encoder(model: EdgeRec, out_dir: Path, fp32_dir: Path) -> tuple[Path, Path, Path]:
    """`text_encoder.int8.onnx` (weight-only int8; its fp32 twin goes to `fp32_dir`, not into the
    artifact) and `text_tower.bin` (the same weights for the Worker's kernel)."""
    t = model.dims.max_tokens
    tokens = torch.randint(0, model.dims.vocab_size, (2, t), generator=torch.Generator().manual_seed(0))
    fp32 = fp32_dir / "text_encoder.onnx"
    int8 = out_dir / "text_encoder.int8.onnx"
    _export(model.items.text, (tokens,), fp32, ["tokens"], ["text_emb"], {"tokens": {0: "B"}, "text_emb": {0: "B"}})
    kernel_file = out_dir / "text_tower.bin"
    quantize_weight_only(fp32, int8, write_text_tower(model.items.text, t, kernel_file))
    return fp32, int8, kernel_file


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
    user_fp32, user_int8, tower = export_user_encoder(model, out_dir)
    text_fp32, text_int8, text_tower = export_text_encoder(model, out_dir, fp32_dir)
    ranker_fp32, ranker_int8 = export_ranker(model, out_dir, fp32_dir)
    return {
        "userEncoder": user_int8,
        "userEncoderFp32": user_fp32,
        "userTower": tower,
        "itemEmbeddings": emb_path,
        "itemScales": scale_path,
        "textEncoder": text_int8,
        "textEncoderFp32": text_fp32,
        "textTower": text_tower,
        "ranker": ranker_int8,
        "rankerFp32": ranker_fp32,
    }
