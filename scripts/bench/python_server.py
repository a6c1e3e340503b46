"""A plain Python server for POST /v1/recommend: the baseline the Worker is compared with (issue 7c).

Same int8 artifact, same answers as the Worker for the requests the benchmark sends: it reuses the
trainer's served-path reference (scripts/edgerec/reference.py: `load_artifact`, `encode_history`,
onnxruntime native with 1 intra-op thread) and adds what the Worker's route adds around it: request
validation, `ts` -> age, "exclude seen", the category / price / excludeItemIds filters applied before
the top k, ties by row, scores rounded to 1e-6, the top-5 interest profile, the popularity answer for
histories with no known item, and the Worker's JSON and error shapes.

Not implemented (answered 501): `userId` (the Worker's per-user session store), `explain`, `diversity`.

    bash scripts/py.sh scripts/bench/python_server.py --model models/default --port 8798

Standard library HTTP (ThreadingHTTPServer, HTTP/1.1 keep-alive): one thread per connection; the
ONNX run and the numpy scoring release the GIL.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for the edgerec package

from edgerec.reference import encode_history, load_artifact  # noqa: E402

EVENT_NAMES = ("view", "click", "cart", "purchase", "search")
MAX_BODY = 64 * 1024


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def js_round(x: float) -> float:
    """Math.round(x * 1e6) / 1e6, as src/core/recommend.ts rounds scores for the wire."""
    return math.floor(x * 1e6 + 0.5) / 1e6


class Served:
    """The artifact plus the per-request work of the Worker's /v1/recommend for it."""

    def __init__(self, directory: str):
        self.art = load_artifact(directory)
        m = self.art.manifest
        self.version = m["version"]
        self.categories = m["categories"]
        self.event_types = m["eventTypes"]
        items = json.loads((Path(directory) / m["files"]["items"]["path"]).read_text())
        self.titles = items.get("titles")
        self.item_categories = items.get("categories")
        self.prices = items.get("prices")
        n = len(self.art.item_ids)
        # Float64 copies made once (reference.int8_scores converts the whole table on every call).
        self.q64t = np.ascontiguousarray(self.art.q.astype(np.float64).T)  # (D, N)
        self.scale64 = self.art.scale.astype(np.float64)
        self.rows_by_category: dict[str, np.ndarray] = {}
        if self.item_categories:
            acc: dict[str, list[int]] = {}
            for r, cats in enumerate(self.item_categories):
                for c in {c.lower() for c in cats or []}:
                    acc.setdefault(c, []).append(r)
            self.rows_by_category = {c: np.array(rs, dtype=np.int64) for c, rs in acc.items()}
        self.price_arr = (
            np.array([np.nan if p is None else p for p in self.prices], dtype=np.float64)
            if self.prices
            else np.full(n, np.nan)
        )
        popular = json.loads((Path(directory) / m["files"]["popular"]["path"]).read_text())
        self.popular = popular.get("popular", [])

    def view(self, r: int, score: float) -> dict:
        out: dict = {"itemId": self.art.item_ids[r]}
        if self.titles and self.titles[r] is not None:
            out["title"] = self.titles[r]
        if self.item_categories and self.item_categories[r]:
            out["categories"] = self.item_categories[r]
        if self.prices and self.prices[r] is not None:
            out["price"] = self.prices[r]
        out["score"] = js_round(score)
        return out

    def allow_mask(self, filters: dict | None) -> np.ndarray | None:
        f = filters or {}
        cats = [c for c in f.get("categories") or [] if c]
        pmin, pmax = f.get("priceMin"), f.get("priceMax")
        if not cats and pmin is None and pmax is None:
            return None
        n = len(self.art.item_ids)
        if cats:
            mask = np.zeros(n, dtype=bool)
            for c in cats:
                rows = self.rows_by_category.get(c.lower())
                if rows is not None:
                    mask[rows] = True
        else:
            mask = np.ones(n, dtype=bool)
        if pmin is not None or pmax is not None:
            p = self.price_arr
            ok = ~np.isnan(p)
            if pmin is not None:
                ok &= p >= pmin
            if pmax is not None:
                ok &= p <= pmax
            mask &= ok
        return mask

    def recommend(self, body: dict, now: float) -> dict:
        history, k, filters, exclude_seen = validate(body)
        row_of = self.art.row_of
        known = [h for h in history if h["itemId"] in row_of]
        ignored = len(history) - len(known)
        excluded = [row_of[i] for i in (filters or {}).get("excludeItemIds") or [] if i in row_of]
        allowed = self.allow_mask(filters)
        if not known:
            return self.popular_answer(k, allowed, excluded, ignored)
        ref_history = []
        for h in known:
            event = h["event"] if h["event"] in self.event_types[1:] else "view"
            ts = h.get("ts")
            ref_history.append(
                {"itemId": h["itemId"], "event": event, "ageHours": None if ts is None else (now - ts) / 3600}
            )
        feeds, seen = encode_history(self.art, ref_history)
        user_emb, interests = self.art.session.run(["user_emb", "interests"], feeds)
        scores = (user_emb[0].astype(np.float64) @ self.q64t) * self.scale64  # (N,)
        if allowed is not None:
            scores[~allowed] = -np.inf
        drop = excluded + (seen if exclude_seen else [])
        if drop:
            scores[np.array(drop, dtype=np.int64)] = -np.inf
        top = top_k(scores, k)
        order = sorted(range(len(self.categories)), key=lambda i: -float(interests[0][i]))[:5]
        out = {
            "model": {"version": self.version},
            "items": [self.view(int(r), float(scores[r])) for r in top],
            "profile": {
                "interests": [
                    {"category": self.categories[i], "weight": js_round(float(interests[0][i]))} for i in order
                ]
            },
        }
        if ignored:
            out["ignored"] = ignored
        return out

    def popular_answer(self, k: int, allowed: np.ndarray | None, excluded: list[int], ignored: int) -> dict:
        n = len(self.art.item_ids)
        top = self.popular[0]["count"] if self.popular and self.popular[0]["count"] else 1
        ex = set(excluded)
        items, taken = [], set()

        def take(r: int, score: float) -> None:
            if len(items) >= k or r in taken or r in ex or (allowed is not None and not allowed[r]):
                return
            taken.add(r)
            items.append(self.view(r, score))

        for p in self.popular:
            if p["row"] < n:
                take(p["row"], p["count"] / top)
        r = 0
        while r < n and len(items) < k:
            take(r, 0.0)
            r += 1
        out = {"model": {"version": self.version}, "items": items}
        if ignored:
            out["ignored"] = ignored
        return out


def top_k(scores: np.ndarray, k: int) -> list[int]:
    """Rows of the k best finite scores, score descending, ties by row ascending (as scanTopK)."""
    finite = np.isfinite(scores)
    if k < len(scores):
        kth = -np.partition(-scores, k - 1)[k - 1]
        cand = np.nonzero(scores >= kth)[0]
    else:
        cand = np.arange(len(scores))
    cand = cand[finite[cand]]
    order = cand[np.lexsort((cand, -scores[cand]))]
    return [int(r) for r in order[:k]]


def validate(body: object) -> tuple[list[dict], int, dict | None, bool]:
    """The checks of the Worker's recommendRequestSchema that the benchmark's requests can reach."""
    if not isinstance(body, dict):
        raise BadRequest(400, "invalid_request", "The body must be a JSON object.")
    for unsupported in ("userId",):
        if body.get(unsupported) is not None:
            raise BadRequest(501, "not_implemented", f"{unsupported} is not supported by this server.")
    if body.get("explain") or body.get("diversity"):
        raise BadRequest(501, "not_implemented", "explain and diversity are not supported by this server.")
    history = body.get("history", [])
    if not isinstance(history, list) or len(history) > 200:
        raise BadRequest(400, "invalid_request", "history: at most 200 events.")
    out = []
    for h in history:
        if not isinstance(h, dict) or not isinstance(h.get("itemId"), str) or not 1 <= len(h["itemId"]) <= 128:
            raise BadRequest(400, "invalid_request", "history[].itemId: 1-128 characters.")
        event = h.get("event", "view")
        if event not in EVENT_NAMES:
            raise BadRequest(400, "invalid_request", f"history[].event: one of {', '.join(EVENT_NAMES)}.")
        ts = h.get("ts")
        if ts is not None and (not isinstance(ts, int) or isinstance(ts, bool) or not 0 <= ts <= 1e11):
            raise BadRequest(400, "invalid_request", "history[].ts: epoch seconds.")
        out.append({"itemId": h["itemId"], "event": event, "ts": ts})
    k = body.get("k", 10)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100:
        raise BadRequest(400, "invalid_request", "k: an integer from 1 to 100.")
    filters = body.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise BadRequest(400, "invalid_request", "filters: an object.")
    exclude_seen = body.get("excludeSeen", True)
    if not isinstance(exclude_seen, bool):
        raise BadRequest(400, "invalid_request", "excludeSeen: a boolean.")
    return out, k, filters, exclude_seen


def make_handler(served: Served):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the Worker's clients get
        # Headers and body go out in two writes; without TCP_NODELAY a keep-alive client waits ~40 ms
        # for the delayed ACK of the first (Nagle), which would measure the kernel, not the server.
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:  # one line per request would cost more than the work
            pass

        def send_json(self, status: int, obj: dict) -> None:
            data = json.dumps(obj, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-model-version", served.version)
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, code: str, message: str) -> None:
            self.send_json(status, {"error": {"code": code, "message": message}})

        def do_GET(self) -> None:
            if self.path == "/health":
                self.send_json(
                    200,
                    {
                        "status": "ok",
                        "model": {"version": served.version, "loaded": True, "activeVersion": served.version},
                    },
                )
            else:
                self.error(404, "not_found", "No such route.")

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self.rfile.read(length)
                return self.error(413, "payload_too_large", f"The body must be at most {MAX_BODY} bytes.")
            raw = self.rfile.read(length)
            if self.path != "/v1/recommend":
                return self.error(404, "not_found", "No such route.")
            if not (self.headers.get("content-type") or "").startswith("application/json"):
                return self.error(
                    415, "unsupported_media_type", "The body must be JSON (content-type: application/json)."
                )
            try:
                body = json.loads(raw)
            except ValueError:
                return self.error(400, "invalid_json", "The body is not valid JSON.")
            try:
                self.send_json(200, served.recommend(body, math.floor(time.time())))
            except BadRequest as e:
                self.error(e.status, e.code, e.message)

    return Handler


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8798)
    args = p.parse_args()
    served = Served(args.model)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(served))
    server.daemon_threads = True
    host, port = server.server_address[:2]  # --port 0 picks a free port; this line says which
    print(f"python_server: {served.version} ({len(served.art.item_ids)} items) on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
