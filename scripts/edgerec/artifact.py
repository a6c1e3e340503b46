"""Writes the artifact directory of docs/ARTIFACTS.md (stage 8): manifest.json, items.json,
popular.json, vocab.json next to the exported models and int8 item tables."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .config import Config
from .export import write_kernel_file
from .data import ACTION_TYPES, EVENT_TYPES, SeqDataset, popular_lists
from .metrics import METRIC_KEYS

FORMAT = "edgerec-artifact/1"
PROTOCOL = "leave-one-out by time, full ranking, history excluded"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_json(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    return path


def non_finite(obj: object, where: str = "") -> list[str]:
    """Paths (`metrics.fp32.ndcg@10`) of every NaN or infinite number inside nested dicts and lists."""
    if isinstance(obj, float):
        return [] if math.isfinite(obj) else [f"{where} = {obj}"]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in non_finite(v, f"{where}[{i}]")]
    return []


def _clean_float(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def items_json(ds: SeqDataset) -> dict:
    """Columnar item metadata, row-aligned with the embedding table."""
    return {
        "ids": ds.item_ids,
        "titles": ds.titles,
        "categories": ds.item_categories,
        "brands": ds.brands,
        "prices": [_clean_float(p) for p in ds.prices],
    }


ITEMS_FORMAT = "edgerec-items/1"


def _packed(values: list, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Strings as one UTF-8 buffer and row offsets (uint32, rows + 1); `missing` marks None."""
    enc = [
        (v or "").encode("utf-8") if v is not None else b""
        for v in (values[r] if r < len(values) else None for r in range(rows))
    ]
    offsets = np.zeros(rows + 1, dtype=np.uint32)
    offsets[1:] = np.cumsum([len(b) for b in enc], dtype=np.uint64)
    missing = np.array([(values[r] if r < len(values) else None) is None for r in range(rows)], dtype=np.uint8)
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy(), offsets, (missing if missing.any() else None)


def _codes(values: list, rows: int, key) -> tuple[np.ndarray, list]:
    """Dictionary codes (0 = none, i + 1 = distinct[i]); uint16 while they fit, else uint32."""
    distinct, seen = [], {}
    codes = np.zeros(rows, dtype=np.uint32)
    for r in range(rows):
        v = values[r] if r < len(values) else None
        k = key(v)
        if k is None:
            continue
        if k not in seen:
            distinct.append(v)
            seen[k] = len(distinct)
        codes[r] = seen[k]
    return (codes.astype(np.uint16) if len(distinct) < 0x10000 else codes), distinct


def items_columnar(items: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """items.json's content in the Worker catalog's own layout (`items.bin`, docs/ARTIFACTS.md): the
    Worker reads it without parsing JSON or creating an object per item."""
    rows = len(items["ids"])
    header: dict = {"format": ITEMS_FORMAT, "rows": rows}
    tensors: dict[str, np.ndarray] = {}
    tensors["ids.bytes"], tensors["ids.offsets"], _ = _packed(items["ids"], rows)
    # Rows in the byte order of their UTF-8 ids (Python's str order is code point order, the same), so
    # the Worker finds an id by binary search instead of building a hash index over every id at load.
    tensors["ids.order"] = np.array(sorted(range(rows), key=lambda r: items["ids"][r]), dtype=np.uint32)
    if items.get("titles") is not None:
        tensors["titles.bytes"], tensors["titles.offsets"], missing = _packed(items["titles"], rows)
        if missing is not None:
            tensors["titles.missing"] = missing
    if items.get("categories") is not None:
        tensors["paths.codes"], header["paths"] = _codes(items["categories"], rows, lambda v: tuple(v) if v else None)
    if items.get("brands") is not None:
        tensors["brands.codes"], header["brands"] = _codes(items["brands"], rows, lambda v: v)
    if items.get("prices") is not None:
        tensors["prices.codes"], header["prices"] = _codes(
            items["prices"], rows, lambda v: None if v is None else float(v)
        )
    return header, tensors


def file_entry(out_dir: Path, path: Path, **extra) -> dict:
    """`{"path", "sha256", "bytes", ...extra}` for a file inside the artifact directory."""
    return {
        "path": path.relative_to(out_dir).as_posix(),
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        **extra,
    }


def tensors_block(cfg: Config, n_categories: int, max_tokens: int) -> dict:
    """Names, dtypes and shapes of every ONNX input and output ("B"/"K" are dynamic; "L", with
    model.dynamic_length, is the history length, any of 1..maxLen)."""
    L, D = ("L" if cfg.model.dynamic_length else cfg.data.max_len), cfg.model.dim
    f32, i64 = "float32", "int64"
    return {
        "userEncoder": {
            "inputs": {
                "hist_emb": {"dtype": f32, "shape": ["B", L, D]},
                "hist_event": {"dtype": i64, "shape": ["B", L]},
                "hist_age": {"dtype": f32, "shape": ["B", L]},
            },
            "outputs": {
                "user_emb": {"dtype": f32, "shape": ["B", D]},
                "interests": {"dtype": f32, "shape": ["B", n_categories]},
                "attention": {"dtype": f32, "shape": ["B", L]},
            },
        },
        "textEncoder": {
            "inputs": {"tokens": {"dtype": i64, "shape": ["B", max_tokens]}},
            "outputs": {"text_emb": {"dtype": f32, "shape": ["B", D]}},
        },
        "ranker": {
            "inputs": {
                "user_emb": {"dtype": f32, "shape": ["B", D]},
                "cand_emb": {"dtype": f32, "shape": ["B", "K", D]},
            },
            "outputs": {"action_logits": {"dtype": f32, "shape": ["B", "K", len(ACTION_TYPES)]}},
        },
    }


def write(
    out_dir: str | Path,
    ds: SeqDataset,
    cfg: Config,
    paths: dict[str, Path],
    metrics: dict[str, dict],
    parity: dict,
    training: dict,
    now: datetime | None = None,
) -> dict:
    """Writes items.json, popular.json, vocab.json and manifest.json into `out_dir`; returns the
    manifest. `paths` are the exported files by role (from export.run); `metrics` has fp32/int8/valid."""
    out_dir = Path(out_dir)
    # JSON has no NaN or Infinity (json.dumps would write them, and no JSON parser reads them back): a
    # non-finite metric or parity figure means a broken model or an empty evaluation, never an artifact.
    bad = non_finite({"metrics": metrics, "parity": parity, "training": training})
    if bad:
        raise ValueError("refusing to write manifest.json with non-finite numbers: " + ", ".join(bad[:5]))
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    n, d = ds.num_items, cfg.model.dim
    items = items_json(ds)
    items_path = _write_json(out_dir / "items.json", items)
    items_bin_path = out_dir / "items.bin"
    write_kernel_file(items_bin_path, *items_columnar(items))
    popular_path = _write_json(out_dir / "popular.json", popular_lists(ds, 1000, cfg.data.trending_fraction))
    vocab_path = _write_json(out_dir / "vocab.json", ds.vocab.to_json())
    files = {
        "userEncoder": file_entry(out_dir, paths["userEncoder"]),
        "userEncoderFp32": file_entry(out_dir, paths["userEncoderFp32"]),
        "userTower": file_entry(out_dir, paths["userTower"]),
        "itemEmbeddings": file_entry(out_dir, paths["itemEmbeddings"], dtype="int8", shape=[n, d]),
        "itemScales": file_entry(out_dir, paths["itemScales"], dtype="float32", shape=[n]),
        "items": file_entry(out_dir, items_path),
        "itemsColumnar": file_entry(out_dir, items_bin_path),
        "popular": file_entry(out_dir, popular_path),
        "textEncoder": file_entry(out_dir, paths["textEncoder"]),
        "textTower": file_entry(out_dir, paths["textTower"]),
        "vocab": file_entry(out_dir, vocab_path),
        "ranker": file_entry(out_dir, paths["ranker"]),
    }
    blob_hash = hashlib.sha256()
    for role in sorted(files):
        with open(out_dir / files[role]["path"], "rb") as f:
            blob_hash.update(f.read())
    manifest = {
        "format": FORMAT,
        "version": now.strftime("%Y%m%dT%H%M%SZ") + "-" + blob_hash.hexdigest()[:8],
        "createdAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dim": d,
        "maxLen": cfg.data.max_len,
        "items": n,
        "eventTypes": list(EVENT_TYPES),
        "actionTypes": list(ACTION_TYPES),
        "categories": ds.categories,
        "dataset": ds.stats(),
        "config": cfg.to_dict(),
        "quantization": {
            "userEncoder": "int8-weight-only-per-channel",
            "userTower": "int8-weight-only-per-channel",
            "textEncoder": "int8-weight-only-per-channel",
            "textTower": "int8-weight-only-per-channel",
            "ranker": "dynamic-int8-matmulinteger",
            "itemEmbeddings": "int8-symmetric-per-row",
        },
        "files": files,
        "tensors": tensors_block(cfg, len(ds.categories), ds.vocab.max_tokens),
        "metrics": {"protocol": PROTOCOL, **{k: {m: v[m] for m in METRIC_KEYS} for k, v in metrics.items()}},
        "parity": parity,
        "training": training,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False))
    return manifest


REQUIRED_KEYS = (
    "format",
    "version",
    "createdAt",
    "dim",
    "maxLen",
    "items",
    "eventTypes",
    "categories",
    "dataset",
    "config",
    "quantization",
    "files",
    "tensors",
    "metrics",
    "parity",
    "training",
)
REQUIRED_FILES = ("userEncoder", "itemEmbeddings", "itemScales", "items", "popular")


def validate_manifest(m: dict) -> None:
    """Checks the structure docs/ARTIFACTS.md promises; raises ValueError naming the first problem."""

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ValueError(f"manifest: {what}")

    for k in REQUIRED_KEYS:
        need(k in m, f"missing key {k!r}")
    need(m["format"] == FORMAT, f"format is {m['format']!r}")
    need(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", m["version"]) is not None, f"bad version {m['version']!r}")
    need(m["eventTypes"][0] == "pad", "eventTypes[0] must be 'pad'")
    for role in REQUIRED_FILES:
        need(role in m["files"], f"files.{role} missing")
    for role, f in m["files"].items():
        need(
            isinstance(f.get("path"), str)
            and re.fullmatch(r"[0-9a-f]{64}", f.get("sha256", "")) is not None
            and isinstance(f.get("bytes"), int),
            f"files.{role} needs path, sha256 and bytes",
        )
    need(m["files"]["itemEmbeddings"]["shape"] == [m["items"], m["dim"]], "itemEmbeddings shape != [items, dim]")
    need(m["files"]["itemEmbeddings"]["bytes"] == m["items"] * m["dim"], "itemEmbeddings bytes != items * dim")
    need(m["files"]["itemScales"]["bytes"] == 4 * m["items"], "itemScales bytes != 4 * items")
    ue = m["tensors"]["userEncoder"]
    need(set(ue["inputs"]) == {"hist_emb", "hist_event", "hist_age"}, "userEncoder inputs")
    need(set(ue["outputs"]) == {"user_emb", "interests", "attention"}, "userEncoder outputs")
    need(ue["outputs"]["interests"]["shape"] == ["B", len(m["categories"])], "interests shape != [B, len(categories)]")
    for kind in ("fp32", "int8", "valid"):
        need(set(METRIC_KEYS) <= set(m["metrics"].get(kind, {})), f"metrics.{kind} lacks some of {METRIC_KEYS}")
    need(isinstance(m["parity"].get("passed"), bool), "parity.passed must be a boolean")
    for k in ("seconds", "device", "epochs", "bestEpoch"):
        need(k in m["training"], f"training.{k} missing")


def verify(out_dir: str | Path) -> dict:
    """Re-reads an artifact, validates the manifest and checks every listed file's size and sha256
    and the version suffix. Returns the manifest; raises ValueError on the first mismatch."""
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    validate_manifest(manifest)
    blob_hash = hashlib.sha256()
    for role in sorted(manifest["files"]):
        entry = manifest["files"][role]
        path = out_dir / entry["path"]
        data = path.read_bytes()
        if len(data) != entry["bytes"]:
            raise ValueError(f"{role}: {path} has {len(data)} bytes, manifest says {entry['bytes']}")
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"{role}: sha256 of {path} does not match the manifest")
        blob_hash.update(data)
    if not manifest["version"].endswith(blob_hash.hexdigest()[:8]):
        raise ValueError("manifest version does not end with the blobs' sha256 prefix")
    return manifest
