"""Writes test/fixtures/reference.json: the served-path top 10 (Python, onnxruntime native) for fixed
histories on an artifact. The Worker's parity test (test/worker/parity.test.ts) must return the same
items in the same order; test/python/test_default_artifact.py checks the file still matches the
committed artifact.

    python -m edgerec.default_reference --artifact models/default --out test/fixtures/reference.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .reference import load_artifact, recommend

EVENTS = ("view", "click", "cart", "purchase", "search")


def reference_cases(artifact_dir: str | Path) -> dict:
    """Three fixed histories (short, mixed events, long) over the artifact's own item ids."""
    art = load_artifact(artifact_dir)
    ids = art.item_ids
    n = len(ids)
    histories = [
        [{"itemId": ids[0], "event": "view"}],
        [{"itemId": ids[(7 * i + 3) % n], "event": EVENTS[i % 4]} for i in range(5)],
        [{"itemId": ids[(31 * i + 11) % n], "event": EVENTS[i % 5]} for i in range(60)],
    ]
    cases = []
    for h in histories:
        out = recommend(art, h, 10)
        cases.append(
            {"history": h, "k": 10, "items": [{"itemId": x["itemId"], "score": x["score"]} for x in out["items"]]}
        )
    return {"version": art.manifest["version"], "cases": cases}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    Path(args.out).write_text(json.dumps(reference_cases(args.artifact), indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
