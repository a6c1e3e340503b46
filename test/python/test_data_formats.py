"""Input-format details of the readers: CSV dialects, id spellings, timestamp units, event-name
synonyms, price formats and RecBole's item columns and sequence rows (held-out data review)."""

import warnings

import polars as pl
import pytest

from edgerec.config import DataConfig
from edgerec.data import (
    DataError,
    DataWarning,
    build_dataset,
    clean,
    import_recbole,
    load_files,
    parse_price,
    read_events,
    read_items,
)

CFG = DataConfig(min_user_events=3, max_len=4, min_token_count=1)


@pytest.mark.parametrize(
    "name, text",
    [
        ("tab.csv", 'user_id\titem_id\ttimestamp\nu1\ti1\t1\nu1\t"i,2"\t2\n'),
        ("semi.csv", "user_id;item_id;timestamp\nu1;i1;1\nu1;i,2;2\n"),
        ("plain.tsv", "user_id\titem_id\ttimestamp\nu1\ti1\t1\nu1\ti,2\t2\n"),
        ("comma.tsv", 'user_id,item_id,timestamp\nu1,i1,1\nu1,"i,2",2\n'),  # named .tsv, written with commas
    ],
)
def test_csv_delimiter_tab_or_semicolon_is_detected_from_the_header(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    ev, counts = read_events(p)
    assert ev["item_id"].to_list() == ["i1", "i,2"] and counts == {"rows_read": 2, "malformed": 0}


def test_rows_ending_with_a_comma_the_header_lacks_are_read(tmp_path):
    p = tmp_path / "trail.csv"
    p.write_text("user_id,item_id,timestamp\nu1,a,1,\nu1,b,2,\nu1,c,3,oops\nu1,d,4,\n")
    ev, counts = read_events(p)
    assert ev["item_id"].to_list() == ["a", "b", "d"] and counts == {"rows_read": 4, "malformed": 1}
    # a header that ends with a comma too, and a last column that is merely empty, are unchanged
    p.write_text("user_id,item_id,timestamp,event,\nu1,a,1,,\nu1,b,2,view,\n")
    assert read_events(p)[0]["event"].to_list() == [None, "view"]
    p.write_text("user_id,item_id,timestamp,event\nu1,a,1,\nu1,b,2,view\n")
    assert read_events(p)[0]["event"].to_list() == [None, "view"]


def test_ids_that_look_like_missing_values_stay_ids(tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("user_id,item_id,timestamp,event\nNA,nan,1,NA\nnull,None,2,view\nN/A,NULL,3,null\n,x,4,view\n")
    ev, counts = read_events(p)
    assert ev["user_id"].to_list() == ["NA", "null", "N/A"]
    assert ev["item_id"].to_list() == ["nan", "None", "NULL"]
    assert ev["event"].to_list() == [None, "view", None]  # outside the ids they are still missing
    assert counts["malformed"] == 1  # the empty user id


def test_millisecond_and_microsecond_epochs_are_converted_to_seconds_with_a_warning(tmp_path):
    p = tmp_path / "ms.csv"
    p.write_text("user_id,item_id,timestamp\nu1,a,1608115408017\nu1,b,1608115409500\nu1,c,2020-12-16T10:43:30Z\n")
    with pytest.warns(DataWarning, match="epoch milliseconds.*divided by 1e\\+03") as w:
        ev, _ = read_events(p)
    assert len([x for x in w if x.category is DataWarning]) == 1
    # ISO 8601 values in the same column are seconds already
    assert ev["timestamp"].to_list() == pytest.approx([1608115408.017, 1608115409.5, 1608115410.0])
    jl = tmp_path / "us.jsonl"
    jl.write_text('{"user_id": 1, "item_id": 2, "timestamp": 1608115408017123}\n')
    with pytest.warns(DataWarning, match="epoch microseconds"):
        assert read_events(jl)[0]["timestamp"].to_list() == pytest.approx([1608115408.017123])
    pq = tmp_path / "ms.parquet"
    pl.DataFrame({"user_id": ["u"], "item_id": ["i"], "timestamp": [1608115408017]}).write_parquet(pq)
    with pytest.warns(DataWarning, match="epoch milliseconds"):
        assert read_events(pq)[0]["timestamp"].to_list() == [1608115408.017]


def test_epoch_seconds_are_left_alone_without_a_warning(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("user_id,item_id,timestamp\nu1,a,1608115408\nu1,b,99999999999\nu1,c,1608115409.25\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_events(p)[0]["timestamp"].to_list() == [1608115408, 99999999999, 1608115409.25]


def test_csv_ids_written_as_integral_floats_match_integer_ids(tmp_path):
    events = tmp_path / "e.csv"
    events.write_text("user_id,item_id,timestamp\n1.0,1,1\n1.0,2,2\n2,3,3\n")
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\n1.0,One\n2.0,Two\n3.0,Three\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every event item is in the items file: no overlap warning
        raw = load_files(events, items)
    assert raw.events["user_id"].to_list() == ["1", "1", "2"]
    assert raw.items["item_id"].to_list() == ["1", "2", "3"]
    # a column that is not all integers keeps its spelling
    items.write_text("item_id,title\n1.0,One\n2.5,Two and a half\n")
    assert read_items(items)[0]["item_id"].to_list() == ["1.0", "2.5"]


def test_an_items_file_sharing_few_ids_with_the_events_warns_with_the_overlap(tmp_path):
    events = tmp_path / "e.csv"
    events.write_text("user_id,item_id,timestamp\nu,A1,1\nu,A2,2\nu,A3,3\n")
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\na1,One\na2,Two\nA3,Three\n")
    with pytest.warns(DataWarning, match=r"items file .*items.csv: only 1 of the 3 item ids in the events are in it"):
        load_files(events, items)


def test_common_event_names_are_read_as_the_contract_types(tmp_path):
    names = ["ADD_TO_CART", "addtocart", "add-to-cart", "Basket", "transaction", "Order", "buy", "checkout"]
    names += ["conversion", "pageview", "page_view", "detail", "Detail View", "click", "Purchase", "search"]
    p = tmp_path / "e.csv"
    p.write_text("user_id,item_id,timestamp,event\n" + "".join(f"u,i{k},{k},{e}\n" for k, e in enumerate(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing unknown: no warning
        raw = clean(load_files(p), CFG)
    expected = ["cart"] * 4 + ["purchase"] * 5 + ["view"] * 4 + ["click", "purchase", "search"]
    assert raw.events["event"].to_list() == expected and raw.counts["unknown_event"] == 0


def test_unknown_event_names_are_dropped_with_one_warning_naming_them(tmp_path):
    p = tmp_path / "e.csv"
    rows = ["u,a,1,view", "u,b,2,impression", "u,c,3,wish", "u,d,4,impression", "u,e,5,cart", "u,f,6,purchase"]
    p.write_text("user_id,item_id,timestamp,event\n" + "\n".join(rows) + "\n")
    with pytest.warns(
        DataWarning, match=r"e.csv: dropped 3 events of unknown types .*'impression' \(2\), 'wish' \(1\)"
    ):
        raw = clean(load_files(p), CFG)
    assert raw.counts["unknown_event"] == 3 and raw.events["item_id"].to_list() == ["a", "e", "f"]


def test_when_unknown_event_names_leave_too_few_events_the_error_names_them(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text(
        '{"user_id": 1, "item_id": 1, "timestamp": 1, "event": "view"}\n'
        '{"user_id": 1, "item_id": 2, "timestamp": 2, "event": "wishlist"}\n'
        '{"user_id": 1, "item_id": 3, "timestamp": 3, "event": "rate"}\n'
    )
    with pytest.warns(DataWarning), pytest.raises(DataError) as e:
        clean(load_files(p), CFG)
    assert "no user has the 3 events" in str(e.value)
    assert "after dropping 2 of unknown types: 'rate' (1), 'wishlist' (1)" in str(e.value)


@pytest.mark.parametrize(
    "text, price",
    [
        ("9.5", 9.5),
        ("$12.99", 12.99),
        ("12,99 €", 12.99),
        ("1,299.00", 1299.0),
        ("1.299,00", 1299.0),
        ("1 299,50", 1299.5),
        ("1,299,000", 1299000.0),
        ("USD 5", 5.0),
        ("£1,000.50", 1000.5),
        ("1,299", None),  # 1299 or 1.299: ambiguous
        ("free", None),
        ("10-20", None),
        ("nan", None),
    ],
)
def test_prices_with_currency_signs_and_separators_are_parsed_where_unambiguous(text, price):
    assert parse_price(text) == price


def atomic(*rows: tuple[str, ...]) -> str:
    """A RecBole atomic file's text: tab-separated fields, one row per line (the first is the header)."""
    return "".join("\t".join(r) + "\n" for r in rows)


def recbole_items(d, *rows: tuple[str, ...], items=("1", "2", "3")):
    """import_recbole of an .inter with one user who has `items`, and an .item file of `rows`."""
    inter = [("user_id:token", "item_id:token", "timestamp:float")] + [("u", i, str(t)) for t, i in enumerate(items)]
    (d / "r.inter").write_text(atomic(*inter))
    (d / "r.item").write_text(atomic(*rows))
    return import_recbole(d / "r")


def test_items_files_parse_written_prices(tmp_path):
    p = tmp_path / "items.csv"
    p.write_text('item_id,price\na,$12.99\nb,"12,99 €"\nc,"1,299.00"\nd,free\ne,\n')
    assert read_items(p)[0]["price"].to_list() == [12.99, 12.99, 1299.0, None, None]
    raw = recbole_items(tmp_path, ("item_id:token", "price:float"), ("a", "$3.50"), ("b", "4"), items=("a", "b"))
    assert raw.items["price"].to_list() == [3.5, 4.0]


def test_recbole_movielens_and_yelp_item_columns_are_read_as_text(tmp_path):
    raw = recbole_items(
        tmp_path,
        ("item_id:token", "movie_title:token_seq", "release_year:token", "genre:token_seq", "director:token"),
        ("1", "Toy Story", "1995", "Animation Children's Comedy", "John Lasseter"),
        ("2", "Heat", "1995", "Action Crime|Thriller", ""),
        ("3", "Casino", "1995", "", "Martin Scorsese"),
    )
    ds = build_dataset(clean(raw, CFG), CFG)
    assert ds.titles == ["Toy Story", "Heat", "Casino"]
    # a token_seq of genres is a list of categories (space separated; `|` where written so)
    assert ds.item_categories == [["Animation", "Children's", "Comedy"], ["Action Crime", "Thriller"], []]
    assert "toy" in ds.vocab.tokens and "lasseter" in ds.vocab.tokens  # other text columns: description
    assert "1995" not in ds.vocab.tokens  # an all-numeric column (the year) is not text
    ml100k = recbole_items(tmp_path, ("item_id:token", "class:token_seq"), ("1", "Action Crime"), items=("1",))
    assert ml100k.items["categories"].to_list() == [["Action", "Crime"]]
    yelp = recbole_items(
        tmp_path,
        ("item_id:token", "item_name:token_seq", "city:token_seq", "postal_code:token", "categories:token_seq"),
        ("1", "Joe's Pizza", "New York", "10001", "Restaurants, Pizza, Fast Food"),
        items=("1",),
    )
    item = yelp.items.row(0, named=True)
    assert item["title"] == "Joe's Pizza" and item["categories"] == ["Restaurants", "Pizza", "Fast Food"]
    assert item["description"] == "New York"


def test_recbole_amazon_item_columns_and_a_token_category_is_one_label(tmp_path):
    header = ("item_id:token", "title:token", "sales_type:token", "sales_rank:float", "categories:token_seq")
    header += ("price:float", "brand:token")
    row = ("B1", "Nice Serum", "Health & Personal Care", "12", "'Beauty', 'Skin Care'", "9.5", "Acme")
    item = recbole_items(tmp_path, header, row, items=("B1",)).items.row(0, named=True)
    assert item["title"] == "Nice Serum" and item["categories"] == ["Beauty", "Skin Care"]
    assert item["brand"] == "Acme" and item["price"] == 9.5
    assert item["description"] == "Health & Personal Care"  # the second category column
    raw = recbole_items(
        tmp_path, ("item_id:token", "sales_type:token"), ("B1", "Health & Personal Care"), items=("B1",)
    )
    assert raw.items["categories"].to_list() == [["Health & Personal Care"]]


def test_recbole_sequence_rows_with_truncated_histories_rebuild_the_whole_sequence(tmp_path):
    seq = [f"i{k}" for k in range(8)]
    lines = [f"u\t{' '.join(seq[max(0, k - 3) : k])}\t{seq[k]}" for k in range(1, 8)]  # lists cut at 3
    lines += ["v\tx y\tz"]  # a user with one row (a test file): its history plus its target
    (tmp_path / "s.inter").write_text("user_id:token\titem_id_list:token_seq\titem_id:token\n" + "\n".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = import_recbole(tmp_path / "s")
    got = {u: raw.events.filter(pl.col("user_id") == u)["item_id"].to_list() for u in ("u", "v")}
    assert got == {"u": seq, "v": ["x", "y", "z"]}


def test_recbole_sequence_rows_out_of_order_fall_back_to_the_longest_history_with_a_warning(tmp_path):
    rows = ["u\ta b\tc", "u\ta\tb", "u\ta b c\td", "w\tp\tq", "w\tp q\tr"]
    (tmp_path / "s.inter").write_text("user_id:token\titem_id_list:token_seq\titem_id:token\n" + "\n".join(rows))
    with pytest.warns(DataWarning, match="sequence rows of 1 of 2 users are not one growing history"):
        raw = import_recbole(tmp_path / "s")
    got = {u: raw.events.filter(pl.col("user_id") == u)["item_id"].to_list() for u in ("u", "w")}
    assert got == {"u": ["a", "b", "c", "d"], "w": ["p", "q", "r"]}


def test_recbole_millisecond_timestamps_are_converted(tmp_path):
    (tmp_path / "r.inter").write_text("user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1608115408017\n")
    with pytest.warns(DataWarning, match="r.inter: numeric timestamps look like epoch milliseconds"):
        assert import_recbole(tmp_path / "r").events["timestamp"].to_list() == [1608115408.017]
