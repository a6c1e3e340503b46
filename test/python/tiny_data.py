"""A tiny synthetic shop, generated on the fly for the end-to-end tests (no data files committed).

Items fall into four groups with group words in their titles; each user mostly follows one group,
so a working model beats popularity within one or two epochs."""

from __future__ import annotations

import csv
import random
from pathlib import Path

GROUPS = ("Makeup", "Skin Care", "Hair Care", "Fragrance")
WORDS = {
    "Makeup": "lipstick mascara",
    "Skin Care": "serum cream",
    "Hair Care": "shampoo conditioner",
    "Fragrance": "perfume cologne",
}
EVENTS = ("view", "view", "click", "cart", "purchase")


def write_tiny_shop(directory: Path, users: int = 60, items: int = 40, seed: int = 0) -> tuple[Path, Path]:
    """Writes `events.csv` and `items.csv` into `directory`; returns their paths."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    items_path, events_path = directory / "items.csv", directory / "events.csv"
    by_group: dict[str, list[str]] = {g: [] for g in GROUPS}
    with items_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "categories", "brand", "price"])
        for i in range(items):
            g = GROUPS[i % len(GROUPS)]
            iid = f"sku-{i:03d}"
            by_group[g].append(iid)
            word = WORDS[g].split()[i % 2]
            w.writerow([iid, f"{word} number {i}", f"Beauty|{g}|{word.title()}", f"brand{i % 5}", f"{5 + i % 7}.5"])
    with events_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "timestamp", "event"])
        t0 = 1_700_000_000
        for u in range(users):
            g = GROUPS[u % len(GROUPS)]
            t = t0 + rng.randint(0, 86400)
            for _ in range(rng.randint(4, 12)):
                pool = by_group[g] if rng.random() < 0.85 else by_group[rng.choice(GROUPS)]
                t += rng.randint(60, 7200)
                w.writerow([f"user{u}", rng.choice(pool), t, rng.choice(EVENTS)])
    return events_path, items_path
