"""Readers, importers, cleaning and the leave-one-out split on tiny fixture files."""

import json

import numpy as np
import polars as pl
import pytest

from edgerec.config import DataConfig
from edgerec.data import (
    EVENT_COLUMNS,
    DataError,
    DataWarning,
    iter_table,
    EVENT_TYPES,
    build_dataset,
    clean,
    import_beauty,
    import_recbole,
    load_files,
    parse_timestamp,
    read_events,
    read_items,
    split,
    split_categories,
)

CFG = DataConfig(min_user_events=3, max_len=4, min_token_count=1)


def sequences(ds):
    """{user_id: [(item_id, event), ...]} in model order."""
    out = {}
    for u, uid in enumerate(ds.user_ids):
        lo, hi = ds.offsets[u], ds.offsets[u + 1]
        out[uid] = [(ds.item_ids[i - 1], EVENT_TYPES[e]) for i, e in zip(ds.items[lo:hi], ds.events[lo:hi])]
    return out


def test_parse_timestamp_epoch_and_iso():
    assert parse_timestamp(1700000000) == 1700000000
    assert parse_timestamp("1700000000") == 1700000000
    assert parse_timestamp("2023-11-14T22:13:20Z") == 1700000000
    assert parse_timestamp("2023-11-14T23:13:20+01:00") == 1700000000
    assert parse_timestamp("2023-11-14 22:13:20") == 1700000000  # naive = UTC
    assert parse_timestamp("yesterday") is None and parse_timestamp("") is None


def test_csv_orders_by_time_then_file_order_and_counts_malformed(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text(
        "user_id,item_id,timestamp,event\n"
        "u1,b,2023-11-14T22:13:20Z,view\n"  # = 1700000000, same second as the next row: file order
        "u1,c,1700000000,cart\n"
        "u1,a,1699999999,\n"  # earliest; empty event -> purchase
        "u1,d,1700000100,click,extra-field\n"  # wrong number of fields
        "u1,,1700000200,view\n"  # no item
        "u1,e,not-a-time,view\n"  # bad timestamp
        "u1,f,1700000300,teleport\n"  # unknown event type
        "u1,g,1700000400,view\n"
        "u1,g,1700000400,view\n"  # exact duplicate
    )
    ev, counts = read_events(p)
    assert counts == {"rows_read": 9, "malformed": 3}
    raw = clean(load_files(p), CFG)
    assert raw.counts["unknown_event"] == 1 and raw.counts["duplicate"] == 1
    ds = build_dataset(raw, CFG)
    assert sequences(ds)["u1"] == [("a", "purchase"), ("b", "view"), ("c", "cart"), ("g", "view")]


def test_jsonl_and_parquet_read_the_same_events(tmp_path):
    rows = [
        {"user_id": 7, "item_id": "x", "timestamp": "2024-01-01T00:00:00Z", "event": "search", "query": "red lipstick"},
        {"user_id": 7, "item_id": "y", "timestamp": 1704067260, "event": "click"},
        {"user_id": 7, "item_id": "z", "timestamp": 1704067200, "event": "VIEW"},
    ]
    jl = tmp_path / "e.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    ev, counts = read_events(jl)
    assert counts["malformed"] == 1
    pq = tmp_path / "e.parquet"
    pl.DataFrame(
        {
            "user_id": ["7", "7", "7"],
            "item_id": ["x", "y", "z"],
            "timestamp": [1704067200, 1704067260, 1704067200],
            "event": ["search", "click", "VIEW"],
            "query": ["red lipstick", None, None],
        }
    ).write_parquet(pq)
    for path in (jl, pq):
        ds = build_dataset(clean(load_files(path), CFG), CFG)
        # x and z share a timestamp: file order decides
        assert sequences(ds)["7"] == [("x", "search"), ("z", "view"), ("y", "click")]
        # the search is in the training part (all but the last two events): its query supervises text
        assert ds.query_items.tolist() == [ds.item_ids.index("x") + 1]
        assert ds.query_tokens[0, :2].tolist() == ds.vocab.ids(["red", "lipstick"])


def test_users_with_too_few_events_are_dropped_and_counted(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user_id,item_id,timestamp\na,1,1\na,2,2\na,3,3\nb,1,1\nb,2,2\n")
    raw = clean(load_files(p), CFG)
    assert raw.counts["users_too_few_events"] == 1 and raw.counts["events_of_users_too_few"] == 2
    assert build_dataset(raw, CFG).user_ids == ["a"]


def test_items_csv_jsonl_parquet(tmp_path):
    csv = tmp_path / "items.csv"
    csv.write_text(
        'item_id,title,categories,brand,price\ni1,"Red Lipstick, matte",Beauty|Makeup|Lips,Acme,9.5\ni2,Serum,Beauty|Skin Care,,\ni1,dup,,,\n'
    )
    items, counts = read_items(csv)
    assert counts["item_rows_duplicate"] == 1
    assert items["categories"].to_list() == [["Beauty", "Makeup", "Lips"], ["Beauty", "Skin Care"]]
    assert items["title"].to_list()[0] == "Red Lipstick, matte" and items["price"].to_list() == [9.5, None]
    jl = tmp_path / "items.jsonl"
    jl.write_text(json.dumps({"item_id": "i1", "categories": ["Beauty", "Makeup"], "price": 3}) + "\n")
    assert read_items(jl)[0]["categories"].to_list() == [["Beauty", "Makeup"]]
    pq = tmp_path / "items.parquet"
    pl.DataFrame({"item_id": ["i9"], "categories": ["A|B"], "description": ["soft"]}).write_parquet(pq)
    it = read_items(pq)[0]
    assert it["categories"].to_list() == [["A", "B"]] and it["description"].to_list() == ["soft"]


def test_split_categories_styles():
    assert split_categories("'Beauty', 'Makeup', 'Nail Polish'") == ["Beauty", "Makeup", "Nail Polish"]
    assert split_categories("\"Men's\", 'Hair'") == ["Men's", "Hair"]
    assert split_categories("Beauty|Skin Care") == ["Beauty", "Skin Care"]
    assert split_categories(None) == [] and split_categories("") == []


def write_beauty(d):
    (d / "Tiny.txt").write_text("1 1 2 3 4\n2 2 3 1\n3 4\n5\n")
    (d / "Tiny.item").write_text(
        "item_id:token\ttitle:token\tcategories:token_seq\n"
        "1\tOPI Nail Lacquer\t'Beauty', 'Makeup', 'Nails'\n"
        "2\tSerum X\t'Beauty', 'Skin Care'\n"
        "3\tShampoo\t'Beauty', 'Hair Care'\n"
        "4\tLipstick\t'Beauty', 'Makeup', 'Lips'\n"
    )
    (d / "Tiny_item2attributes.json").write_text(json.dumps({"1": [5, 6], "2": [7]}))


def test_beauty_format(tmp_path):
    write_beauty(tmp_path)
    raw = import_beauty(tmp_path)
    assert raw.counts["malformed"] == 1  # "5": a user id without items
    cleaned = clean(raw, CFG)
    assert cleaned.counts["users_too_few_events"] == 1  # "3 4": one event is too few to split
    ds = build_dataset(cleaned, CFG)
    assert sequences(ds)["1"] == [("1", "purchase"), ("2", "purchase"), ("3", "purchase"), ("4", "purchase")]
    assert ds.item_ids == ["1", "2", "3", "4"]
    assert ds.categories[:1] == ["Makeup"] and set(ds.categories) == {"Makeup", "Skin Care", "Hair Care"}
    assert "attr5" in ds.vocab.tokens and "opi" in ds.vocab.tokens
    assert not ds.has_timestamps


def test_recbole_inter_and_item(tmp_path):
    (tmp_path / "shop.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "u1\ti2\t5\t200\nu1\ti1\t4\t100\nu1\ti3\t3\t300\nbroken line\nu2\ti1\t1\t50\n"
    )
    (tmp_path / "shop.item").write_text(
        "item_id:token\ttitle:token_seq\tcategories:token_seq\tbrand:token\tprice:float\n"
        "i1\tred lipstick\t'Beauty', 'Makeup'\tAcme\t9\n"
        "i2\tnight serum\tBeauty Skin\tZed\t\n"
    )
    raw = import_recbole(tmp_path / "shop")
    assert raw.counts["malformed"] == 1
    ds = build_dataset(clean(raw, CFG), CFG)
    assert sequences(ds)["u1"] == [("i1", "purchase"), ("i2", "purchase"), ("i3", "purchase")]
    assert ds.item_categories[:2] == [["Beauty", "Makeup"], ["Beauty", "Skin"]]
    assert ds.titles[:2] == ["red lipstick", "night serum"] and ds.prices[:2] == [9.0, None]
    assert ds.counts["event_items_without_metadata"] == 1  # i3


def test_recbole_sequence_rows(tmp_path):
    (tmp_path / "seq.inter").write_text(
        "user_id:token\titem_id_list:token_seq\titem_id:token\nu1\ta\tb\nu1\ta b\tc\nu1\ta b c\td\nu2\tx y\tz\n"
    )
    ds = build_dataset(clean(import_recbole(tmp_path / "seq"), CFG), CFG)
    seqs = sequences(ds)
    assert [i for i, _ in seqs["u1"]] == ["a", "b", "c", "d"]
    assert [i for i, _ in seqs["u2"]] == ["x", "y", "z"]


def test_leave_one_out_split(tmp_path):
    p = tmp_path / "e.csv"
    # u1 has 6 events i1..i6 (max_len 4 truncates the oldest), u2 has exactly 3
    rows = [f"u1,i{k},{k}" for k in range(1, 7)] + ["u2,i1,1", "u2,i2,2", "u2,i3,3"]
    p.write_text("user_id,item_id,timestamp\n" + "\n".join(rows) + "\n")
    ds = build_dataset(clean(load_files(p), CFG), CFG)
    name = lambda idx: [ds.item_ids[i - 1] if i else "-" for i in np.atleast_1d(idx)]
    u1 = ds.user_ids.index("u1")
    test = split(ds, "test", 4)
    r = list(test.users).index(u1)
    assert name(test.hist_items[r]) == ["i2", "i3", "i4", "i5"] and name(test.targets[r]) == ["i6"]
    valid = split(ds, "valid", 4)
    r = list(valid.users).index(u1)
    assert name(valid.hist_items[r]) == ["i1", "i2", "i3", "i4"] and name(valid.targets[r]) == ["i5"]
    train = split(ds, "train", 4)
    r = list(train.users).index(u1)
    assert name(train.hist_items[r]) == ["-", "i1", "i2", "i3"]
    assert name(train.targets[r]) == ["-", "i2", "i3", "i4"]
    # u2 (3 events) has a validation and a test target but no training pair
    assert ds.user_ids.index("u2") in valid.users and ds.user_ids.index("u2") not in train.users
    # ages: log1p(hours before the target), the test target is 1 s after i5
    r = list(test.users).index(u1)
    assert test.hist_age[r, -1] == pytest.approx(np.log1p(1 / 3600), rel=1e-5)


def test_events_read_in_small_batches_equal_one_batch_and_drop_unused_columns(tmp_path):
    lines = ["user_id,item_id,timestamp,event,payload"]
    for i in range(50):
        lines.append(f"u{i % 7},i{i % 11},{1700000000 + (i * 37) % 23},view,{'x' * 200}")
        if i % 9 == 0:
            lines.append(f"u{i},i{i},{1700000000 + i},view,too,many")  # wrong number of fields
        if i % 13 == 0:
            lines.append(f"u{i},,{1700000000 + i},view,")  # no item
    csv = tmp_path / "e.csv"
    csv.write_text("\n".join(lines) + "\n")
    whole, whole_counts = read_events(csv)
    assert "payload" not in whole.columns and whole_counts == {"rows_read": 60, "malformed": 10}
    df = pl.read_csv(csv, schema_overrides={"timestamp": pl.String}, truncate_ragged_lines=True)
    jl = tmp_path / "e.jsonl"
    jl.write_text(
        "\n".join(json.dumps({k: v for k, v in r.items() if v is not None}) for r in df.to_dicts()) + "\n[1]\n"
    )
    pq = tmp_path / "e.parquet"
    df.write_parquet(pq, row_group_size=4)
    for path in (csv, jl, pq):
        ref, ref_counts = read_events(path)
        small, small_counts = read_events(path, batch_rows=3)
        assert small_counts == ref_counts and ref.height >= 50
        assert sum(1 for df, _ in iter_table(path, EVENT_COLUMNS, 3) if df.height) > 2  # really in batches
        assert small.equals(ref), path


def test_events_without_a_user_or_item_column_are_refused(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user,item_id,timestamp\na,1,1\n")
    with pytest.raises(ValueError, match="user_id"):
        read_events(p)
    jl = tmp_path / "e.jsonl"
    jl.write_text('{"item_id": 1, "timestamp": 1}\n')
    with pytest.raises(ValueError, match="user_id"):
        read_events(jl, batch_rows=1)


# ---------------------------------------------------------------------------------------------------
# Empty, invalid and awkward input (audit of the readers against DATA.md)

EVENTS = "user_id,item_id,timestamp,event\n" + "".join(
    f"u{u},i{(u + k) % 5},{1700000000 + 60 * k},view\n" for u in range(4) for k in range(5)
)


def raises_data_error(match, fn, *args, **kwargs):
    with pytest.raises(DataError, match=match) as e:
        fn(*args, **kwargs)
    assert "\n" not in str(e.value)  # one line
    return str(e.value)


def test_files_without_a_usable_event_fail_early_naming_the_problem(tmp_path):
    csv = tmp_path / "header_only.csv"
    csv.write_text("user_id,item_id,timestamp\n")
    msg = raises_data_error("no usable events: the file has no data rows", read_events, csv)
    assert msg.startswith(f"events file {csv}: ")
    pq = tmp_path / "empty.parquet"
    pl.DataFrame(schema={"user_id": pl.String, "item_id": pl.String, "timestamp": pl.Int64}).write_parquet(pq)
    raises_data_error("no usable events: the file has no data rows", read_events, pq)
    bad_ts = tmp_path / "bad_ts.csv"
    bad_ts.write_text("user_id,item_id,timestamp\n" + "u1,i1,yesterday\n" * 12)
    raises_data_error(
        "no usable events: 0 of 12 rows had a parseable timestamp \\(first: 'yesterday'", read_events, bad_ts
    )
    like = tmp_path / "like.csv"
    like.write_text(EVENTS.replace(",view", ",like"))
    msg = raises_data_error("no usable events: 0 of 20 events have a known event type", clean, load_files(like), CFG)
    assert "'like' (20)" in msg and msg.startswith(f"events file {like}: ")
    few = tmp_path / "few.csv"
    few.write_text("user_id,item_id,timestamp\na,1,1\na,2,2\nb,1,1\n")
    raises_data_error("no user has the 3 events leave-one-out needs", clean, load_files(few), CFG)
    (tmp_path / "rb.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\n")
    raises_data_error(
        "RecBole file .*rb.inter: no usable events: the file has no data rows", import_recbole, tmp_path / "rb"
    )
    (tmp_path / "empty.inter").write_text("")
    raises_data_error("RecBole file .*empty.inter: the file is empty", import_recbole, tmp_path / "empty")


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("e.csv", "", "the file is empty: a CSV file needs a header line"),
        ("e.jsonl", "", "the file is empty: a JSONL file needs one JSON object per line"),
        ("e.jsonl", "this is not json\n[1, 2]\n", "none of its 2 lines is a JSON object \\(line 1 is not JSON"),
        ("e.parquet", "PAR1 but not really", "not a Parquet file"),
        ("e.txt", "user_id,item_id\n", "unsupported file type '.txt'"),
        ("e.csv", "user_id,timestamp\na,1\n", "no 'item_id' column"),
        ("missing.csv", None, "no such file or directory"),
    ],
)
def test_unreadable_events_files_raise_one_clear_data_error(tmp_path, name, content, match):
    p = tmp_path / name
    if content is not None:
        p.write_text(content)
    msg = raises_data_error(match, read_events, p)
    assert msg.startswith(f"events file {p}: ")


def test_recbole_inter_without_user_id_and_items_without_item_id(tmp_path):
    (tmp_path / "y.inter").write_text("item_id:token\ttimestamp:float\na\t1\n")
    raises_data_error("RecBole file .*y.inter: no 'user_id' column in its header", import_recbole, tmp_path / "y")
    items = tmp_path / "items.csv"
    items.write_text("title,brand\nx,y\n")
    raises_data_error(f"items file {items}: no 'item_id' column", read_items, items)
    (tmp_path / "empty_items.csv").write_text("")
    raises_data_error("items file .*: the file is empty", read_items, tmp_path / "empty_items.csv")


def test_a_missing_timestamp_column_warns_that_file_order_is_used(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user_id,item_id\na,1\na,2\na,3\n")
    with pytest.warns(DataWarning, match="no 'timestamp' column.*file order"):
        ev, _ = read_events(p)
    assert ev["item_id"].to_list() == ["1", "2", "3"]


def test_a_utf8_bom_is_ignored_in_csv_headers(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("timestamp,item_id,user_id\n3,c,u\n1,a,u\n2,b,u\n", encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_text(plain.read_text(), encoding="utf-8-sig")  # timestamp first: it used to be dropped
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    a, b = load_files(plain), load_files(bom)
    assert b.events.equals(a.events) and b.counts == a.counts
    assert sequences(build_dataset(clean(b, CFG), CFG))["u"] == [
        ("a", "purchase"),
        ("b", "purchase"),
        ("c", "purchase"),
    ]
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\na,Apple\n", encoding="utf-8-sig")
    assert read_items(items)[0]["item_id"].to_list() == ["a"]
    jl = tmp_path / "e.jsonl"
    jl.write_text('{"user_id": "u", "item_id": "a", "timestamp": 1}\n', encoding="utf-8-sig")
    assert read_events(jl)[1] == {"rows_read": 1, "malformed": 0}


def test_header_names_are_matched_without_surrounding_spaces(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user_id, item_id, timestamp , event\nu, a ,2, view\nu,b,1,cart\nu,c,3,view\n")
    ev, counts = read_events(p)
    assert counts == {"rows_read": 3, "malformed": 0}
    ds = build_dataset(clean(load_files(p), CFG), CFG)
    assert sequences(ds)["u"] == [("b", "cart"), ("a", "view"), ("c", "view")]


def test_sub_second_timestamps_order_events_within_a_second(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text(
        "user_id,item_id,timestamp\n"
        "u,late,2024-01-01T12:00:00.900Z\n"
        "u,early,2024-01-01T12:00:00.100Z\n"
        "u,tie-a,2024-01-01T12:00:01.5Z\n"
        "u,tie-b,1704110401.5\n"  # the same instant as epoch seconds: file order
        "u,last,1704110402\n"
    )
    order = ["early", "late", "tie-a", "tie-b", "last"]
    ds = build_dataset(clean(load_files(p), CFG), CFG)
    assert [i for i, _ in sequences(ds)["u"]] == order
    assert ds.timestamps.tolist() == [1704110400.1, 1704110400.9, 1704110401.5, 1704110401.5, 1704110402.0]
    pq = tmp_path / "e.parquet"
    from datetime import datetime, timezone

    stamps = [datetime(2024, 1, 1, 12, 0, 0, us, tzinfo=timezone.utc) for us in (900_000, 100_000, 500_000)]
    pl.DataFrame({"user_id": ["u"] * 3, "item_id": ["c", "a", "b"], "timestamp": stamps}).write_parquet(pq)
    assert [i for i, _ in sequences(build_dataset(clean(load_files(pq), CFG), CFG))["u"]] == ["a", "b", "c"]
    # integer epoch seconds are unchanged: exact values, ties by file order
    assert parse_timestamp("1700000000") == 1700000000 and isinstance(parse_timestamp(1700000000), int)
    assert parse_timestamp("2023-11-14T22:13:20.250Z") == 1700000000.25


def test_recbole_accepts_its_standard_folder_layout(tmp_path):
    d = tmp_path / "shop"
    d.mkdir()
    (d / "shop.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1\nu\tb\t2\nu\tc\t3\n")
    (d / "shop.item").write_text("item_id:token\ttitle:token\na\tApple\n")
    by_prefix, by_dir = import_recbole(d / "shop"), import_recbole(d)
    assert by_dir.events.equals(by_prefix.events) and by_dir.items.equals(by_prefix.items)
    assert by_dir.items["title"].to_list() == ["Apple"]
    other = tmp_path / "data"
    other.mkdir()
    (other / "ml.inter").write_text((d / "shop.inter").read_text())
    assert import_recbole(other).events.height == 3  # the folder's only .inter
    (other / "ml2.inter").write_text((d / "shop.inter").read_text())
    raises_data_error("several .inter files", import_recbole, other)


def test_beauty_picks_the_txt_named_like_its_item_file(tmp_path):
    write_beauty(tmp_path)
    (tmp_path / "AREADME.txt").write_text("This folder holds the Tiny data set.\nSee the paper.\n")
    raw = import_beauty(tmp_path)
    assert raw.name == "tiny" and raw.counts["sequence_lines"] == 4
    alone = tmp_path / "noitem"
    alone.mkdir()
    (alone / "Seq.txt").write_text("1 1 2 3\n")
    assert import_beauty(alone).name == "seq"  # the only .txt, nothing to match
    (alone / "README.txt").write_text("notes\n")
    raises_data_error("2 .txt files", import_beauty, alone)
    (tmp_path / "Tiny.txt").unlink()
    raises_data_error("none of its .txt files", import_beauty, tmp_path)


def test_category_labels_that_only_start_like_a_literal_are_split_on_pipes():
    assert split_categories("'Tis the Season|Gifts") == ["'Tis the Season", "Gifts"]
    assert split_categories("[Sale]|Beauty") == ["[Sale]", "Beauty"]
    assert split_categories('"Quoted" Brand|Makeup') == ['"Quoted" Brand', "Makeup"]
    assert split_categories("['Beauty', 'Makeup']") == ["Beauty", "Makeup"]  # a real literal


def test_jsonl_ids_mixing_ints_and_floats_keep_integral_ids(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text(
        '{"user_id": 1, "item_id": 7, "timestamp": 1}\n{"user_id": 1.5, "item_id": 7.0, "timestamp": 2}\n'
        '{"user_id": 1, "item_id": "x", "timestamp": 3.0}\n'
    )
    ev, _ = read_events(p)
    assert ev["user_id"].to_list() == ["1", "1.5", "1"] and ev["item_id"].to_list() == ["7", "7", "x"]
    items = tmp_path / "i.jsonl"
    items.write_text('{"item_id": 7.0, "price": 2}\n{"item_id": 8, "price": 2.5}\n')
    assert read_items(items)[0]["item_id"].to_list() == ["7", "8"]


def test_beauty_picks_one_data_set_of_a_folder_holding_several(tmp_path):
    """The S3-Rec repository's data/ holds Beauty, Sports_and_Outdoors, Toys...: NAME.txt (or the path
    without .txt) picks one, with its own .item and attributes, never another set's."""
    write_beauty(tmp_path)
    (tmp_path / "Other.txt").write_text("9 7 8 9\n")
    (tmp_path / "Other_item2attributes.json").write_text(json.dumps({"7": [1]}))
    raises_data_error("several data sets", import_beauty, tmp_path)
    for picked in (tmp_path / "Tiny.txt", tmp_path / "Tiny"):
        raw = import_beauty(picked)
        assert raw.name == "tiny" and raw.counts["sequence_lines"] == 4
        assert "OPI Nail Lacquer" in raw.items["title"].to_list()
    other = import_beauty(tmp_path / "Other.txt")
    assert other.name == "other" and other.counts["sequence_lines"] == 1
    assert other.items["item_id"].to_list() == ["7"]  # its own attributes, not Tiny's
    (tmp_path / "Other_item2attributes.json").unlink()
    assert import_beauty(tmp_path / "Other.txt").items.height == 0  # Tiny's attributes are not borrowed


def test_recbole_benchmark_split_files_are_read_as_one_log(tmp_path):
    """RecBole's `benchmark_filename` layout: NAME.train.inter, NAME.valid.inter, NAME.test.inter (here
    sequence rows, as RecBole's sequential benchmarks ship them) are one log, train then valid then test."""
    d = tmp_path / "ml"
    d.mkdir()
    head = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    (d / "ml.train.inter").write_text(head + "u1\ta\tb\nu1\ta b\tc\nu2\tx\ty\n")
    (d / "ml.valid.inter").write_text(head + "u1\ta b c\td\nu2\tx y\tz\n")
    (d / "ml.test.inter").write_text(head + "u1\ta b c d\te\nu2\tx y z\tw\n")
    (d / "ml.item").write_text("item_id:token\tmovie_title:token_seq\na\tAlien\n")
    for given in (d, d / "ml", d / "ml.train.inter", d / "ml.test.inter"):
        raw = import_recbole(given)
        seqs = sequences(build_dataset(clean(raw, CFG), CFG))
        assert [i for i, _ in seqs["u1"]] == ["a", "b", "c", "d", "e"], given
        assert [i for i, _ in seqs["u2"]] == ["x", "y", "z", "w"], given
        assert raw.items["title"].to_list() == ["Alien"]
    (d / "ml.test.inter").write_text("user_id:token\titem_id:token\nu1\tq\n")
    raises_data_error("header differs", import_recbole, d)


def test_recbole_yelp_names_its_item_and_time_fields_otherwise(tmp_path):
    (tmp_path / "yelp.inter").write_text(
        "user_id:token\tbusiness_id:token\tstars:float\tdate:float\nu\tb2\t5\t3\nu\tb1\t4\t1\nu\tb3\t3\t2\n"
    )
    (tmp_path / "yelp.item").write_text(
        "business_id:token\titem_name:token_seq\tcategories:token_seq\nb1\tJoe's Diner\tFood\n"
    )
    raw = import_recbole(tmp_path / "yelp")
    seqs = sequences(build_dataset(clean(raw, CFG), CFG))
    assert [i for i, _ in seqs["u"]] == ["b1", "b3", "b2"]  # ordered by date
    assert raw.items["title"].to_list() == ["Joe's Diner"]
