"""The served path in Python, from an artifact directory alone: what the Worker computes, step by
step, so the Worker's tests can compare against `python -m edgerec.cli reference`.

1. History entries `{"itemId", "event"?, "ageHours"?}` (oldest first); unknown item ids are skipped,
   the last `maxLen` known ones are kept, left-padded. `event` defaults to purchase; `ageHours`
   becomes `log1p(max(0, ageHours))`, 0 when absent.
2. `hist_emb` rows are the dequantized int8 rows `q[r] * scale[r]` (float32).
3. `user_encoder.int8.onnx` -> `user_emb`, `interests`, `attention`.
4. Every item scores `scale[r] * sum_d(q[r, d] * user_emb[d])` in float64; items in the history are
   excluded; the top k sorted by score descending, ties by row ascending.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .evaluate import int8_scores, session_feeds


@dataclass
class Artifact:
    """A loaded artifact directory: manifest, int8 tables, item ids and the user-encoder session."""

    manifest: dict
    q: np.ndarray  # (N, D) int8
    scale: np.ndarray  # (N,) float32
    item_ids: list[str]
    session: ort.InferenceSession

    @property
    def row_of(self) -> dict[str, int]:
        cached = self.__dict__.get("_row_of")
        if cached is None:
            cached = {iid: r for r, iid in enumerate(self.item_ids)}
            self.__dict__["_row_of"] = cached
        return cached


def load_artifact(directory: str | Path) -> Artifact:
    """Reads manifest.json, the int8 item tables, items.json and opens the int8 user encoder."""
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    files = manifest["files"]
    n, d = files["itemEmbeddings"]["shape"]
    q = np.fromfile(directory / files["itemEmbeddings"]["path"], dtype=np.int8).reshape(n, d)
    scale = np.fromfile(directory / files["itemScales"]["path"], dtype="<f4").astype(np.float32)
    items = json.loads((directory / files["items"]["path"]).read_text())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(directory / files["userEncoder"]["path"]), opts, providers=["CPUExecutionProvider"]
    )
    return Artifact(manifest, q, scale, items["ids"], session)


def encode_history(art: Artifact, history: list[dict]) -> tuple[dict[str, np.ndarray], list[int]]:
    """ONNX feeds for one user (batch of 1) and the rows of the known history items."""
    m = art.manifest
    L, D = m["maxLen"], m["dim"]
    events = m["eventTypes"]
    known = [h for h in history if str(h.get("itemId")) in art.row_of]
    rows = [art.row_of[str(h["itemId"])] for h in known]
    kept = known[-L:]
    if isinstance(art.session.get_inputs()[0].shape[1], str):  # exported with a free history length
        L = max(1, len(kept))
    hist_emb = np.zeros((1, L, D), dtype=np.float32)
    hist_event = np.zeros((1, L), dtype=np.int64)
    hist_age = np.zeros((1, L), dtype=np.float32)
    for slot, h in zip(range(L - len(kept), L), kept):
        event = h.get("event") or "purchase"
        if event not in events[1:]:
            raise ValueError(f"unknown event type {event!r} (have {events[1:]})")
        r = art.row_of[str(h["itemId"])]
        hist_emb[0, slot] = art.q[r].astype(np.float32) * art.scale[r]  # = dequantized_table row r + 1
        hist_event[0, slot] = events.index(event)
        age = h.get("ageHours")
        hist_age[0, slot] = math.log1p(max(0.0, float(age))) if age is not None else 0.0
    return {"hist_emb": hist_emb, "hist_event": hist_event, "hist_age": hist_age}, rows


def recommend(art: Artifact, history: list[dict], k: int = 10) -> dict:
    """Top-k of the served path for one history, as a JSON-ready dict."""
    feeds, seen = encode_history(art, history)
    user_emb, interests, attention = art.session.run(
        ["user_emb", "interests", "attention"], session_feeds(art.session, feeds)
    )
    scores = int8_scores(user_emb, art.q, art.scale)[0]  # (N,) float64
    scores[np.array(seen, dtype=np.int64)] = -np.inf
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    cats = art.manifest["categories"]
    return {
        "version": art.manifest["version"],
        "items": [
            {"itemId": art.item_ids[r], "row": int(r), "score": float(scores[r])}
            for r in order
            if np.isfinite(scores[r])
        ],
        "userEmb": [float(x) for x in user_emb[0]],
        "interests": {c: float(p) for c, p in zip(cats, interests[0])},
        "attention": [float(x) for x in attention[0]],
    }
