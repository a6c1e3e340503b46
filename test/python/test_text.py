"""The tokenizer and hashing the Worker re-implements in TypeScript."""

import json

from edgerec.text import Vocab, fnv1a32, tokenize


def test_fnv1a32_known_vectors():
    # reference values of 32-bit FNV-1a
    assert fnv1a32(b"") == 0x811C9DC5
    assert fnv1a32(b"a") == 0xE40C292C
    assert fnv1a32(b"foobar") == 0xBF9CF968


def test_tokenize_lowercases_and_splits_on_non_letters_or_digits():
    assert tokenize("OPI Nail-Lacquer, 0.5 fl.oz") == ["opi", "nail", "lacquer", "0", "5", "fl", "oz"]
    assert tokenize("Crème brûlée_2 日本語!") == ["crème", "brûlée", "2", "日本語"]
    assert tokenize("") == [] and tokenize(None) == []


def test_vocab_ids_hash_unknown_tokens_after_the_vocabulary():
    v = Vocab.build([["red", "lipstick"], ["red", "serum"]], min_count=2, buckets=8, max_tokens=4)
    assert v.tokens == ("red",)
    assert v.size == 1 + 1 + 8
    ids = v.ids(["red", "lipstick"])
    assert ids[0] == 1
    assert ids[1] == 2 + fnv1a32("lipstick".encode()) % 8
    row = v.encode_text("Red RED lipstick serum extra")
    assert row.shape == (1, 4) and row[0, :2].tolist() == [1, 1]


def test_vocab_json_round_trip():
    v = Vocab(("a", "b"), 16, 8)
    d = json.loads(json.dumps(v.to_json()))
    assert d == {"tokens": ["a", "b"], "buckets": 16, "maxTokens": 8, "lowercase": True}
    assert Vocab.from_json(d) == v
