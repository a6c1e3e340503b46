"""The text tokenizer shared by the item tower, the query encoder and the Worker.

The algorithm is deliberately tiny so the Worker can re-implement it exactly in TypeScript:

1. `s.toLowerCase()` (Python `str.lower()`; both apply the Unicode default full case mapping).
2. Tokens are the maximal runs of code points whose Unicode general category is a letter (L*) or a
   number (N*); everything else separates. In TypeScript: `s.toLowerCase().match(/[\\p{L}\\p{N}]+/gu)`.
3. Keep the first `maxTokens` tokens (items: title, then categories, brand, description, attribute
   tokens, in that order; queries: the query text).
4. Ids: `0` is padding. Token `vocab.tokens[i]` has id `i + 1`. Any other token has id
   `len(tokens) + 1 + (fnv1a32(utf8(token)) % buckets)`, where fnv1a32 is 32-bit FNV-1a:
   `h = 0x811c9dc5; for each byte b: h = ((h ^ b) * 0x01000193) mod 2**32`
   (TypeScript: `h = Math.imul(h ^ b, 0x01000193) >>> 0`, bytes from `new TextEncoder().encode(token)`).
5. The id row is right-padded with zeros to `maxTokens` (shape `[1, maxTokens]` for one query) and fed
   to `text_encoder.int8.onnx` as `tokens` int64. A row of all zeros encodes to a zero vector.

`vocab.json` = `{"tokens": [...], "buckets": n, "maxTokens": T, "lowercase": true}`.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a hash of `data`."""
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


@lru_cache(maxsize=65536)
def _is_word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN"


def tokenize(text: str | None) -> list[str]:
    """Lowercases `text` and splits it into runs of letters/digits (see module docstring)."""
    if not text:
        return []
    out: list[str] = []
    cur: list[str] = []
    for c in text.lower():
        if _is_word_char(c):
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


@dataclass(frozen=True)
class Vocab:
    """Token vocabulary plus hash buckets; `encode` turns token lists into padded id rows."""

    tokens: tuple[str, ...]
    buckets: int
    max_tokens: int

    @property
    def size(self) -> int:
        """Number of token ids including padding (0) and the hash buckets."""
        return len(self.tokens) + 1 + self.buckets

    @classmethod
    def build(cls, docs: Iterable[list[str]], min_count: int, buckets: int, max_tokens: int) -> "Vocab":
        """Keeps tokens seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(t for doc in docs for t in doc)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(tuple(kept), buckets, max_tokens)

    def ids(self, tokens: list[str]) -> list[int]:
        """Token ids for the first `max_tokens` tokens (no padding)."""
        index = self._index()
        n = len(self.tokens)
        out = []
        for t in tokens[: self.max_tokens]:
            i = index.get(t)
            out.append(i if i is not None else n + 1 + fnv1a32(t.encode("utf-8")) % self.buckets)
        return out

    def encode(self, docs: list[list[str]]) -> np.ndarray:
        """`[len(docs), max_tokens]` int64 ids, right-padded with 0."""
        out = np.zeros((len(docs), self.max_tokens), dtype=np.int64)
        for r, doc in enumerate(docs):
            ids = self.ids(doc)
            out[r, : len(ids)] = ids
        return out

    def encode_text(self, text: str) -> np.ndarray:
        """`[1, max_tokens]` ids of a query string, exactly what the Worker feeds the text encoder."""
        return self.encode([tokenize(text)])

    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {t: i + 1 for i, t in enumerate(self.tokens)}
            object.__setattr__(self, "_index_cache", cached)
        return cached

    def to_json(self) -> dict:
        """The `vocab.json` document."""
        return {"tokens": list(self.tokens), "buckets": self.buckets, "maxTokens": self.max_tokens, "lowercase": True}

    @classmethod
    def from_json(cls, d: dict) -> "Vocab":
        """Inverse of `to_json`."""
        return cls(tuple(d["tokens"]), int(d["buckets"]), int(d["maxTokens"]))

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        """Reads a `vocab.json` file."""
        return cls.from_json(json.loads(Path(path).read_text()))
