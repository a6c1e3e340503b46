"""Input-format details of the readers: CSV dialects, id spellings, timestamp units, event-name
synonyms, price formats and RecBole's item columns and sequence rows (held-out data review)."""

import pytest

from edgerec.config import DataConfig
from edgerec.data import DataWarning, read_events

CFG = DataConfig(min_user_events=3, max_len=4, min_token_count=1)


@pytest.mark.parametrize(
    "name, text",
    [
        ("tab.csv", 'user_id\titem_id\ttimestamp\nu1\ti1\t1\nu1\t"i,2"\t2\n'),
        ("semi.csv", "user_id;item_id;timestamp\nu1;i1;1\nu1;i,2;2\n"),
        ("plain.tsv", "user_id\titem_id\ttimestamp\nu1\ti1\t1\nu1\ti,2\t2\n"),
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
