"""Tests of the synthetic shop generator (scripts/edgerec/synth.py).

One default-sized shop is generated per session (~3 s); determinism and format tests use small ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from edgerec import synth
from edgerec.synth import SynthConfig

SMALL = dict(n_items=300, n_users=150)


@pytest.fixture(scope="module")
def shop() -> synth.Shop:
    return synth.generate(SynthConfig(seed=7))


@pytest.fixture(scope="module")
def leaf_of(shop: synth.Shop) -> pl.DataFrame:
    """item_id -> leaf category name."""
    return shop.items.select("item_id", leaf=pl.col("categories").str.split("|").list.get(2))


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_the_same_seed_writes_byte_identical_files_in_every_format(tmp_path: Path) -> None:
    for run in ("a", "b"):
        synth.main(["--seed", "3", "--out", str(tmp_path / run), "--items", "300", "--users", "150", "--format", "all"])
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(first) == sorted(f"{t}.{x}" for t in ("events", "items") for x in synth.FORMATS)
    assert first == second


def test_a_different_seed_gives_a_different_shop(tmp_path: Path) -> None:
    for seed in (3, 4):
        synth.write(synth.generate(SynthConfig(seed=seed, **SMALL)), tmp_path / str(seed))
    for name in ("items.csv", "events.csv"):
        assert (tmp_path / "3" / name).read_bytes() != (tmp_path / "4" / name).read_bytes()


def test_every_format_round_trips_to_the_same_rows(tmp_path: Path) -> None:
    small = synth.generate(SynthConfig(seed=5, **SMALL))
    for fmt in synth.FORMATS:
        synth.write(small, tmp_path, fmt)
    readers = {
        "csv": lambda p, schema: pl.read_csv(p, schema=schema),
        "jsonl": lambda p, schema: pl.read_ndjson(p, schema=schema),
        "parquet": lambda p, schema: pl.read_parquet(p),
    }
    for fmt, read in readers.items():
        items = read(tmp_path / f"items.{fmt}", synth.ITEM_SCHEMA)
        events = read(tmp_path / f"events.{fmt}", synth.EVENT_SCHEMA)
        assert_frame_equal(items, small.items)
        assert_frame_equal(events, small.events)
        assert_frame_equal(synth.read(tmp_path, fmt)[1], small.events)
    # the CSV markup title survives quoting, and a reader without a schema infers the right types
    inferred = pl.read_csv(tmp_path / "events.csv")
    assert inferred.schema == pl.Schema(synth.EVENT_SCHEMA)
    assert pl.read_csv(tmp_path / "items.csv").schema == pl.Schema(synth.ITEM_SCHEMA)


def test_default_sizes_are_small_enough_for_a_quick_model(shop: synth.Shop) -> None:
    assert shop.items.height == 1200
    assert shop.events["user_id"].n_unique() == 2000
    assert 60_000 <= shop.events.height <= 100_000


def test_columns_and_types_follow_data_md(shop: synth.Shop) -> None:
    assert shop.items.schema == pl.Schema(synth.ITEM_SCHEMA)
    assert shop.events.schema == pl.Schema(synth.EVENT_SCHEMA)
    assert shop.items["item_id"].is_unique().all()
    assert shop.items["item_id"].str.contains(r"^sku-\d{5}$").all()
    assert shop.events["user_id"].str.contains(r"^user-\d{5}$").all()
    assert set(shop.events["event"].unique()) == set(synth.EVENT_TYPES)
    assert shop.items.null_count().sum_horizontal().item() == 0
    prices = shop.items["price"]
    assert (prices > 0).all()
    assert all(len(repr(p).split(".")[1]) <= 2 for p in prices)  # written as "12.5", "7.99"


def test_timestamps_are_epoch_seconds_in_time_order_within_the_window(shop: synth.Shop) -> None:
    ts = shop.events["timestamp"]
    assert ts.min() >= synth.start_ts(SynthConfig()) and ts.max() <= synth.END_TS + 3600
    assert (ts.diff().drop_nulls() >= 0).all()  # a log: written in time order
    per_user = shop.events.group_by("user_id").agg(n=pl.len(), distinct=pl.col("timestamp").n_unique())
    assert (per_user["n"] == per_user["distinct"]).all()  # no ties within a user
    assert per_user["n"].min() >= 3  # leave-one-out needs train + validation + test


def test_every_event_refers_to_an_existing_item(shop: synth.Shop) -> None:
    unknown = shop.events.join(shop.items, on="item_id", how="anti")
    assert unknown.height == 0


def test_categories_have_three_levels_in_a_beauty_taxonomy(shop: synth.Shop) -> None:
    levels = shop.items["categories"].str.split("|")
    assert (levels.list.len() == 3).all()
    assert (levels.list.get(0) == "Beauty").all()
    assert 5 <= levels.list.get(1).n_unique() <= 6
    assert 20 <= levels.list.get(2).n_unique() <= 30


def test_a_leaf_can_be_read_off_the_title(shop: synth.Shop) -> None:
    noun = {leaf.name: leaf.noun for leaf in synth.LEAVES}
    for title, categories in shop.items.select("title", "categories").iter_rows():
        assert noun[categories.split("|")[2]] in title


def test_brands_sell_across_top_level_groups(shop: synth.Shop) -> None:
    group = pl.col("categories").str.split("|").list.get(1)
    groups = shop.items.group_by("brand").agg(n=group.n_unique())
    assert (groups["n"] >= 2).mean() > 0.8


def test_exactly_one_item_has_markup_at_its_documented_row(shop: synth.Shop, leaf_of) -> None:
    row = shop.items.row(synth.MARKUP_ROW, named=True)
    assert row["item_id"] == synth.MARKUP_ITEM_ID == "sku-00042"
    assert row["title"] == synth.MARKUP_TITLE
    assert row["categories"] == "Beauty|Makeup|Lip Gloss"
    assert shop.items["title"].str.contains("[<>&]").sum() == 1
    # it is in the log, but rarely: far below the typical item
    counts = shop.events.group_by("item_id").len()
    n = counts.filter(pl.col("item_id") == synth.MARKUP_ITEM_ID)["len"].sum()
    assert 1 <= n <= counts["len"].median() / 2
    assert synth.MARKUP_ITEM_ID not in shop.trending


def test_the_markup_row_holds_for_other_seeds_and_sizes() -> None:
    items = synth.build_catalog(SynthConfig(seed=11, n_items=100), np.random.default_rng(11)).frame
    assert items.row(synth.MARKUP_ROW, named=True)["title"] == synth.MARKUP_TITLE


def test_search_rows_carry_a_query_and_the_item_then_clicked(shop: synth.Shop) -> None:
    ev = shop.events.sort("user_id", "timestamp", maintain_order=True)
    is_search = pl.col("event") == "search"
    assert ev.filter(is_search)["query"].str.strip_chars().str.len_chars().min() > 0
    assert ev.filter(~is_search)["query"].null_count() == ev.filter(~is_search).height
    following = ev.with_columns(
        next_event=pl.col("event").shift(-1).over("user_id"),
        next_item=pl.col("item_id").shift(-1).over("user_id"),
    ).filter(is_search)
    assert (following["next_event"] == "click").all()
    assert (following["next_item"] == following["item_id"]).all()


def test_queries_use_the_words_of_the_clicked_item(shop: synth.Shop) -> None:
    searches = shop.events.filter(pl.col("event") == "search").join(shop.items, on="item_id")
    columns = ("query", "title", "brand", "description")
    in_title, in_text = [], []
    for query, title, brand, description in searches.select(columns).iter_rows():
        words = query.split()
        in_title.append(all(w in f"{brand} {title}".lower() for w in words))
        in_text.append(all(w in f"{brand} {title} {description}".lower() for w in words))
    assert all(in_text)  # a text model can learn every query ...
    assert 0.5 < np.mean(in_title) < 1.0  # ... but not always by matching title words


def test_users_mostly_stay_within_their_interest_categories(shop: synth.Shop, leaf_of) -> None:
    ev = shop.events.join(leaf_of, on="item_id").join(shop.users, on="user_id")
    inside = ev.select(pl.col("interests").list.contains(pl.col("leaf")).mean()).item()
    # the same measure with interests handed to the wrong users: what chance looks like
    rng = np.random.default_rng(0)
    permutation = rng.permutation(shop.users.height)
    shuffled = shop.users.with_columns(pl.col("interests").gather(permutation))
    ev_shuffled = shop.events.join(leaf_of, on="item_id").join(shuffled, on="user_id")
    chance = ev_shuffled.select(pl.col("interests").list.contains(pl.col("leaf")).mean()).item()
    assert inside > 0.65
    assert chance < 0.2


def test_sessions_cluster_around_one_category(shop: synth.Shop, leaf_of) -> None:
    ev = shop.events.join(leaf_of, on="item_id").sort("user_id", "timestamp", maintain_order=True)
    prev = ev.with_columns(prev=pl.col("leaf").shift(1).over("user_id")).drop_nulls("prev")
    assert (prev["leaf"] == prev["prev"]).mean() > 0.75


def test_popularity_is_long_tailed(shop: synth.Shop) -> None:
    counts = shop.events.group_by("item_id").len().sort("len", descending=True)["len"]
    assert counts[: shop.items.height // 5].sum() / counts.sum() > 0.5  # top 20% of items


def test_consumables_are_bought_again(shop: synth.Shop) -> None:
    purchases = shop.events.filter(pl.col("event") == "purchase")
    repeats = purchases.group_by("user_id", "item_id").len().filter(pl.col("len") > 1)
    assert repeats.height >= 100


def test_trending_items_rise_in_the_last_week(shop: synth.Shop) -> None:
    week = 7 * 86_400
    share = (
        shop.events.with_columns(
            recent=pl.col("timestamp") >= synth.END_TS - week,
            trending=pl.col("item_id").is_in(list(shop.trending)),
        )
        .group_by("recent")
        .agg(pl.col("trending").mean())
    )
    by_period = dict(share.iter_rows())
    assert len(shop.trending) > 0
    assert by_period[True] > 3 * by_period[False]


def _hit_rate_at_10(shop: synth.Shop) -> dict[str, float]:
    """HR@10 of popularity and of first-order item-to-item transitions: leave-one-out by time over
    each user's distinct items (in order of first interaction), the full catalogue ranked, history
    excluded (the DATA.md protocol)."""
    index = {item: k for k, item in enumerate(shop.items["item_id"].to_list())}
    ev = shop.events.sort("user_id", "timestamp", maintain_order=True)
    sequences: dict[str, list[int]] = {}
    for user, item in ev.select("user_id", "item_id").iter_rows():
        seq = sequences.setdefault(user, [])
        if index[item] not in seq:
            seq.append(index[item])
    n = len(index)
    popularity, transitions = np.zeros(n), np.zeros((n, n))
    cases = []
    for seq in sequences.values():
        if len(seq) < 3:
            continue
        train = seq[:-1]  # the last item is the test target
        np.add.at(popularity, train, 1.0)
        np.add.at(transitions, (train[:-1], train[1:]), 1.0)
        cases.append((train, seq[-1]))
    hits = {"popularity": 0, "transitions": 0}
    for train, target in cases:
        scores = {
            "popularity": popularity.copy(),
            "transitions": transitions[train[-1]] + 1e-3 * popularity / popularity.max(),
        }
        for name, s in scores.items():
            s[train] = -np.inf
            hits[name] += int((s > s[target]).sum() < 10)
    return {name: h / len(cases) for name, h in hits.items()}


def test_the_next_item_is_learnable_beyond_popularity(shop: synth.Shop) -> None:
    hr = _hit_rate_at_10(shop)
    assert hr["transitions"] > 3 * hr["popularity"]
    assert hr["transitions"] > 0.2
