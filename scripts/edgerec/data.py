"""Stage 2: raw files -> cleaned events -> per-user sequences -> leave-one-out split.

Readers
- `read_events(path)`: CSV (comma, or tab/semicolon told by the header; `.tsv`), JSONL or Parquet with
  `user_id, item_id, timestamp` and optional `event` (view/click/cart/purchase/search or a synonym in
  `EVENT_SYNONYMS`, default purchase) and `query`. `timestamp` is integer epoch seconds (milliseconds,
  microseconds and nanoseconds are recognised and converted, with a warning) or ISO 8601 (naive times
  are UTC). Within a user, events are ordered by timestamp, ties by file order.
- `read_items(path)`: CSV, JSONL or Parquet with `item_id` and any of `title, categories` (`|`-separated,
  most general first, or a list), `brand, description, price` (`$12.99`, `12,99 €` are read).
- `import_beauty(dir)`: the S3-Rec sequence format (`Beauty.txt`, `Beauty.item`, `*_item2attributes.json`).
- `import_recbole(prefix)`: RecBole atomic files `prefix.inter` (event rows or sequence rows) and
  `prefix.item` (or a folder `NAME/` holding `NAME.inter`).
Ids are text: only an empty cell is a missing id ("NA", "null" are ids), and an id column of integers
written as floats (`1.0`) reads as the integers, in every format.

Input the trainer cannot use (a missing or unreadable file, missing id columns, no usable event)
raises `DataError`, whose message is one line naming the file and the problem; the CLI prints it and
exits 2. Usable input with a caveat (no `timestamp` column) warns with a `DataWarning`.

Events files are read in batches (`read_events(path, batch_rows=...)`): pyarrow's streaming CSV reader,
Parquet row groups, JSONL in chunks of lines. Only the five columns the trainer uses are kept, so a log
bigger than memory (wide rows, extra columns) can be read as long as those columns fit. What follows
is in memory: the cleaned event table (polars, string ids), the item table and the sequences (numpy CSR
arrays). That is fine to tens of millions of events on one machine; past that, ids would have to be
dictionary-encoded while reading and the sequences built per user shard.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from .config import DataConfig
from .text import Vocab, tokenize

EVENT_TYPES = ("pad", "view", "click", "cart", "purchase", "search")
"""Index 0 is padding; the user encoder's `hist_event` indexes this list (`manifest.eventTypes`)."""
ACTION_TYPES = ("none", "view", "click", "cart", "purchase")
"""Classes of the ranking head: `none` = not interacted (a retrieved non-target), then the actions."""
DEFAULT_EVENT = "purchase"
EVENT_SYNONYMS = {
    **{e: e for e in EVENT_TYPES[1:]},
    **dict.fromkeys(("pageview", "detail", "detailview", "productview", "itemview", "viewitem", "viewed"), "view"),
    **dict.fromkeys(("clicked", "clicks"), "click"),
    **dict.fromkeys(("addtocart", "addtobasket", "addtobag", "basket"), "cart"),
    **dict.fromkeys(("transaction", "order", "buy", "bought", "purchased", "checkout", "conversion"), "purchase"),
}
"""Event names read as the contract's types, keyed by the name lowercased without anything but letters and
digits (`ADD_TO_CART`, `add-to-cart` and `addtocart` are all `addtocart`). Impressions (an item shown in
a list) are not views and stay unknown."""


class DataError(ValueError):
    """Input the trainer cannot use. `str()` is one line: `SOURCE: problem` (e.g. `events file x.csv:
    no usable events: ...`), where SOURCE names the file when it is known."""

    def __init__(self, problem: str, source: str | None = None):
        self.problem, self.source = problem, source
        super().__init__(f"{source}: {problem}" if source else problem)


class DataWarning(UserWarning):
    """Usable input with a caveat the user should know about (the CLI prints it as one line)."""


@contextmanager
def reading(source: str):
    """Turns the errors of reading a file (missing, not UTF-8, not the format its name says, ...) and
    `DataError`s without a source into `DataError`s naming `source` (e.g. "events file x.csv")."""
    try:
        yield
    except DataError as e:
        if e.source:
            raise
        raise DataError(e.problem, source) from None
    except FileNotFoundError:
        raise DataError("no such file or directory", source) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a file", source) from None
    except PermissionError:
        raise DataError("permission denied", source) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})", source) from None
    except pa.ArrowInvalid as e:
        msg = _first_line(str(e), type(e).__name__)
        if "magic bytes" in msg or "Parquet file size is 0" in msg:
            msg = "not a Parquet file (no Parquet footer: the file is truncated or in another format)"
        raise DataError(msg, source) from None
    except OSError as e:  # pyarrow's I/O errors (e.g. a folder named x.parquet), disk errors
        msg = _first_line(e.strerror or str(e), type(e).__name__)
        raise DataError(f"cannot read it: {msg}", source) from None


def _first_line(text: str, fallback: str) -> str:
    """The first line of an error's text, or `fallback` when it has none."""
    text = text.strip()
    return text.splitlines()[0] if text else fallback


ITEM_SCHEMA = {
    "item_id": pl.String,
    "title": pl.String,
    "categories": pl.List(pl.String),
    "brand": pl.String,
    "description": pl.String,
    "price": pl.Float64,
    "attributes": pl.List(pl.String),
}


@dataclass
class RawData:
    """Events and items after reading, before cleaning. `counts` collects what the readers dropped."""

    name: str
    events: (
        pl.DataFrame
    )  # user_id, item_id (str), timestamp (Float64 epoch seconds), event, query (str), order (file row)
    items: pl.DataFrame  # ITEM_SCHEMA (possibly empty)
    counts: dict[str, int] = field(default_factory=dict)
    source: str | None = None  # what the events came from, for error messages ("events file x.csv")


# ---------------------------------------------------------------------------------------------------
# Generic table reading


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for ext in (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"):
        if name.endswith(ext):
            return ext
    raise DataError(f"unsupported file type {path.suffix or '(no extension)'!r} (want .csv, .tsv, .jsonl or .parquet)")


def read_table(path: str | Path) -> tuple[pl.DataFrame, int]:
    """Reads a whole CSV, JSONL or Parquet file, every column. Returns the table and the number of
    unreadable rows (CSV rows with the wrong number of fields, JSONL lines that are not a JSON object)."""
    frames, bad = [], 0
    for df, b in iter_table(path, None, batch_rows=1 << 40):
        frames.append(df)
        bad += b
    data = [f for f in frames if f.height]
    return (pl.concat(data) if len(data) > 1 else (data or frames)[0]), bad


def _jsonl_value(v: object) -> object:
    # Lists (categories) stay lists of strings; scalars become strings and are typed later.
    if v is None:
        return None
    if isinstance(v, list):
        return [str(x) for x in v]
    return v


def _frame_from_columns(data: dict[str, list]) -> pl.DataFrame:
    series = []
    for name, values in data.items():
        if any(isinstance(v, list) for v in values):
            series.append(
                pl.Series(
                    name,
                    [v if isinstance(v, list) or v is None else [str(v)] for v in values],
                    dtype=pl.List(pl.String),
                )
            )
        elif all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            series.append(pl.Series(name, values, strict=False))
        else:
            series.append(pl.Series(name, [None if v is None else _scalar_str(v) for v in values], dtype=pl.String))
    return pl.DataFrame(series)


def _scalar_str(v: object) -> str:
    """A JSON scalar as text; an integral float is written as the integer (1.0 -> "1"), so an id
    column that mixes 1 and 1.0 names one id."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------------------------------------------
# Timestamps

_INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_RE = re.compile(r"^[+-]?\d+\.\d*$")


def parse_timestamp(value: object) -> int | float | None:
    """Epoch seconds from an int, a float, a numeric string or an ISO 8601 string; None if unparseable.
    Integers stay integers; fractions of a second (ISO `12:00:00.250Z`, `1700000000.25`) are kept, so
    events within one second are ordered by time (float64: sub-microsecond resolution today)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    s = str(value).strip()
    if not s:
        return None
    if _INT_RE.match(s):
        return int(s)
    if _FLOAT_RE.match(s):
        return float(s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith(("Z", "z")) else s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _timestamps(col: pl.Series) -> pl.Series:
    """Float64 epoch seconds, fractions of a second kept (null where missing or unparseable). Integer
    epoch seconds are exact in float64 (to 2^53), so they order and tie exactly as integers."""
    if col.dtype.is_integer():
        return col.cast(pl.Float64)
    if col.dtype.is_float():
        col = col.cast(pl.Float64)
        return col.set(~col.is_finite(), None) if col.len() else col
    if isinstance(col.dtype, pl.Datetime):
        # microseconds (Python's and most writers' resolution); whole seconds divide exactly
        return col.dt.epoch("us").cast(pl.Float64) / 1e6
    col = col.cast(pl.String)
    uniq = col.unique().drop_nulls().to_list()
    lookup = {u: (None if t is None else float(t)) for u, t in ((u, parse_timestamp(u)) for u in uniq)}
    return col.replace_strict(lookup, default=None, return_dtype=pl.Float64)


_NUMERIC_TS = "\x00numeric_timestamp"  # a column of `_read_events`: the timestamp was written as a number
EPOCH_UNITS = ((1e17, 1e9, "nanoseconds"), (1e14, 1e6, "microseconds"), (1e11, 1e3, "milliseconds"))
"""(median above, divisor, unit): numeric epochs too large to be seconds. 1e11 s is the year 5138, while
epoch milliseconds pass 1e11 in 1973 (microseconds pass 1e14 then, nanoseconds 1e17)."""


def _numeric_epochs(col: pl.Series) -> pl.Series:
    """Which values of a timestamp column as read are numbers (not ISO 8601 text or a date type)."""
    if col.dtype.is_numeric():
        return col.is_not_null()
    if col.dtype == pl.String:
        return col.str.strip_chars().str.contains(r"^[+-]?\d+(\.\d*)?$").fill_null(False)
    return pl.repeat(False, col.len(), eager=True)


def epoch_seconds(ts: pl.Series, numeric: pl.Series) -> tuple[pl.Series, str | None]:
    """Epoch seconds from `_timestamps`' values, where those written as numbers (`numeric`) may be
    epoch milliseconds, microseconds or nanoseconds (JavaScript, RetailRocket, pandas exports): when
    their median is above 1e11 (1e14, 1e17) they are divided by 1000 (1e6, 1e9). Returns the timestamps
    and a one-line note saying so, or None when they are seconds. ISO 8601 values are never scaled."""
    values = ts.filter(numeric & ts.is_not_null())
    median = values.median() if values.len() else None
    for bound, divisor, unit in EPOCH_UNITS:
        if median is not None and median > bound:
            scaled = pl.select(pl.when(numeric).then(ts / divisor).otherwise(ts)).to_series().alias(ts.name)
            note = (
                f"numeric timestamps look like epoch {unit} (median {median:.4g}, above {bound:.0e}): "
                f"divided by {divisor:.0e} to get seconds"
            )
            return scaled, note
    return ts, None


def integral_ids(col: pl.Series) -> pl.Series:
    """An id column where every value is an integer, some written as floats (`1.0`, what pandas writes
    for an integer column with a missing value), with the floats written as integers (`1`), the way
    JSONL and Parquet numbers are read. Any other column (`1.5`, `a1`, `1.0.2`) is returned unchanged."""
    if col.dtype != pl.String or col.null_count() == col.len():
        return col
    floats = col.str.contains(r"^[+-]?\d+\.0*$")
    if not floats.any() or not (floats | col.str.contains(r"^[+-]?\d+$")).drop_nulls().all():
        return col
    return col.str.replace(r"\.0*$", "")


# ---------------------------------------------------------------------------------------------------
# Events and items in the documented formats


EVENT_COLUMNS = ("user_id", "item_id", "timestamp", "event", "query")
EVENT_BATCH_ROWS = 1 << 20


def iter_table(path: str | Path, columns: tuple[str, ...] | None, batch_rows: int = EVENT_BATCH_ROWS):
    """Streams a CSV, JSONL or Parquet file as polars frames of at most about `batch_rows` rows, with
    only those of `columns` the file has (None: all). Yields `(frame, unreadable_rows)`; the first
    frame may be empty and carries the file's columns (for JSONL: the keys seen so far).

    Column names are matched with surrounding whitespace stripped (`user_id, item_id`), and a UTF-8
    byte order mark at the start of a CSV or JSONL file is ignored. Raises `DataError` for an empty
    file, a JSONL file without a single JSON object line, or a column named twice."""
    path = Path(path)
    ext = _suffix(path)

    def wanted(name: str) -> bool:
        return bool(name) and (columns is None or name in columns)

    if ext in (".csv", ".tsv"):
        yield from _iter_csv(path, ext, wanted, batch_rows)
        return
    if ext in (".jsonl", ".ndjson", ".json"):
        rows: list[dict] = []
        bad = 0
        lines, objects, first_bad = 0, 0, None
        with path.open("r", encoding="utf-8-sig") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                lines += 1
                try:
                    obj = json.loads(line)
                    problem = None if isinstance(obj, dict) else f"a JSON {type(obj).__name__}, not an object"
                except json.JSONDecodeError as e:
                    problem = f"not JSON: {e.msg}"
                if problem:
                    bad += 1
                    first_bad = first_bad or f"line {number} is {problem}: {line.strip()[:40]!r}"
                    continue
                objects += 1
                rows.append({str(k).strip(): v for k, v in obj.items() if wanted(str(k).strip())})
                if len(rows) >= batch_rows:
                    yield _jsonl_frame(rows), bad
                    rows, bad = [], 0
        if lines == 0:
            raise DataError("the file is empty: a JSONL file needs one JSON object per line")
        if objects == 0:
            raise DataError(f"none of its {lines} lines is a JSON object ({first_bad})")
        yield _jsonl_frame(rows), bad
        return
    parquet = pq.ParquetFile(path)
    names = parquet.schema_arrow.names
    keep, renames = [], {}
    for n in names:
        if wanted(n.strip()):
            if n.strip() in renames.values():
                raise DataError(f"the schema names column {n.strip()!r} twice")
            keep.append(n)
            renames[n] = n.strip()
    yield pl.from_arrow(parquet.schema_arrow.empty_table().select(keep)).rename(renames), 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=keep):
        yield pl.from_arrow(pa.Table.from_batches([batch])).rename(renames), 0


NULL_STRINGS = tuple(v for v in pcsv.ConvertOptions().null_values if v)
"""Cells read as missing in CSV columns other than ids (pyarrow's default null values, as before). In
`user_id` and `item_id` only an empty cell is missing: "NA", "nan", "null" are ids there."""
ID_COLUMNS = ("user_id", "item_id")
_TRAILING = "\x00trailing"  # the unnamed extra column of rows that end with a delimiter


def csv_dialect(path: Path, ext: str) -> tuple[str, bool, list[str] | None]:
    """(delimiter, trailing, header) of a CSV file (header None for an empty file). The delimiter is a comma for `.csv` and a tab for `.tsv`, unless
    the header line has none of it but has another of comma, tab and semicolon (then the most frequent
    of those: a `.csv` file that is tab- or semicolon-separated, a `.tsv` that is comma-separated). `trailing`
    is True when most of the first 200 rows have one field more than the header and that field is empty
    (every row ends with a delimiter the header does not): such rows are read, the empty field ignored."""
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        first = f.readline()
    delimiter = "\t" if ext == ".tsv" else ","
    if delimiter not in first:
        counts = {d: first.count(d) for d in ",\t;" if d != delimiter}
        if max(counts.values()):
            delimiter = max(counts, key=lambda d: counts[d])
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f, delimiter=delimiter)
        header = next(rows, None)
        if header is None:
            return delimiter, False, None
        plain = extra = 0
        for row, _ in zip(rows, range(200)):
            plain += len(row) == len(header)
            extra += len(row) == len(header) + 1 and not row[-1].strip()
    return delimiter, extra > plain, header


def _iter_csv(path: Path, ext: str, wanted, batch_rows: int):
    """`iter_table` for CSV and TSV files (see there)."""
    delimiter, trailing, header = csv_dialect(path, ext)
    if header is None:
        raise DataError("the file is empty: a CSV file needs a header line naming its columns")
    names = [h.strip() for h in header]
    keep: list[str] = []
    # pyarrow gets the stripped names (and skips the header row); columns not read get unique
    # placeholder names so that repeated or empty unused names do not matter
    arrow_names = []
    for i, n in enumerate(names):
        if wanted(n):
            if n in keep:
                raise DataError(f"the header names column {n!r} twice")
            keep.append(n)
            arrow_names.append(n)
        else:
            arrow_names.append(f"\x00unused{i}")
    read = keep + [_TRAILING] * trailing
    if trailing:
        arrow_names.append(_TRAILING)
    bad = [0]

    def on_invalid(_row: object) -> str:
        bad[0] += 1
        return "skip"

    reader = pcsv.open_csv(
        path,
        # ~100 bytes a row: a block holds about batch_rows rows
        read_options=pcsv.ReadOptions(
            block_size=max(1 << 12, min(batch_rows * 100, 1 << 30)), column_names=arrow_names, skip_rows=1
        ),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in read},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=read,
        ),
    )
    yield pl.DataFrame(schema={n: pl.String for n in keep}), 0
    for batch in reader:
        seen, bad[0] = bad[0], 0
        df = pl.from_arrow(pa.Table.from_batches([batch]))
        if trailing:  # a row with a non-empty field past the header's last column is malformed
            extra = df[_TRAILING].str.strip_chars().fill_null("") != ""
            seen += int(extra.sum())
            df = df.filter(~extra).drop(_TRAILING)
        df = df.with_columns(
            pl.when(pl.col(c).is_in(list(NULL_STRINGS))).then(None).otherwise(pl.col(c)).alias(c)
            for c in keep
            if c not in ID_COLUMNS
        )
        yield df, seen
    if bad[0]:
        yield pl.DataFrame(schema={n: pl.String for n in keep}), bad[0]


def _jsonl_frame(rows: list[dict]) -> pl.DataFrame:
    cols = sorted({k for r in rows for k in r})
    return _frame_from_columns({c: [_jsonl_value(r.get(c)) for r in rows] for c in cols})


def read_events(path: str | Path, batch_rows: int = EVENT_BATCH_ROWS) -> tuple[pl.DataFrame, dict[str, int]]:
    """Reads an events file (columns of `RawData.events`) batch by batch. Rows without a user or an
    item are dropped and counted as `malformed`, and so are unreadable lines and, when the file has a
    `timestamp` column, rows whose timestamp is missing or unparseable.

    Raises `DataError` ("events file PATH: ...") when the file cannot be read, lacks `user_id` or
    `item_id`, or has no usable row at all; warns (`DataWarning`) when it has no `timestamp` column or
    when its numeric timestamps are epoch milliseconds, microseconds or nanoseconds (they are converted
    to seconds, see `epoch_seconds`). Ids written as integral floats (`1.0`) are written as integers when
    the whole column is integers (see `integral_ids`)."""
    source = f"events file {path}"
    with reading(source):
        kept, counts, has_timestamp, notes = _read_events(path, batch_rows)
    for note in notes:
        warnings.warn(f"{source}: {note}", DataWarning, stacklevel=2)
    if not has_timestamp:
        warnings.warn(
            f"{source}: no 'timestamp' column (DATA.md requires one): each user's events are taken in file order",
            DataWarning,
            stacklevel=2,
        )
    return kept, counts


def _read_events(path: str | Path, batch_rows: int) -> tuple[pl.DataFrame, dict[str, int], bool, list[str]]:
    parts, n, unreadable, seen = [], 0, 0, set()
    missing_ids, bad_ts, ts_example = 0, 0, None

    def require(columns: set[str]) -> None:
        for req in ("user_id", "item_id"):
            if req not in columns:
                found = ", ".join(c for c in EVENT_COLUMNS if c in columns) or "none"
                raise DataError(
                    f"no {req!r} column (events need user_id and item_id; of "
                    f"{', '.join(EVENT_COLUMNS)} the file has: {found})"
                )

    for i, (df, bad) in enumerate(iter_table(path, EVENT_COLUMNS, batch_rows)):
        unreadable += bad
        seen |= set(df.columns)
        if i == 0 and df.height == 0:
            require(seen)  # CSV and Parquet: the header, before any row is read
        if df.height:
            frame = _events_frame(df, n)
            numeric = (
                _numeric_epochs(df["timestamp"])
                if "timestamp" in df.columns
                else pl.repeat(False, df.height, eager=True)
            )
            frame = frame.with_columns(numeric.alias(_NUMERIC_TS))
            ids = frame["user_id"].is_not_null() & frame["item_id"].is_not_null()
            missing_ids += int((~ids).sum())
            if "timestamp" in df.columns:
                no_ts = ids & frame["timestamp"].is_null()
                bad_ts += int(no_ts.sum())
                if bad_ts and ts_example is None:
                    first = df["timestamp"].filter(no_ts)[0]
                    ts_example = "empty" if first is None else repr(first)
            parts.append(frame)
            n += df.height
    require(seen)  # JSONL: some line had the key
    has_timestamp = "timestamp" in seen
    out = pl.concat(parts) if parts else pl.DataFrame(schema=EVENT_SCHEMA | {_NUMERIC_TS: pl.Boolean})
    ok = pl.col("user_id").is_not_null() & pl.col("item_id").is_not_null()
    if has_timestamp:
        ok = ok & pl.col("timestamp").is_not_null()
    kept = out.filter(ok)
    if kept.height == 0:
        raise DataError(_no_rows_problem(n + unreadable, unreadable, missing_ids, bad_ts, ts_example))
    timestamp, note = epoch_seconds(kept["timestamp"], kept[_NUMERIC_TS])
    kept = kept.drop(_NUMERIC_TS).with_columns(timestamp, integral_ids(kept["user_id"]), integral_ids(kept["item_id"]))
    counts = {"rows_read": n + unreadable, "malformed": unreadable + (n - kept.height)}
    return kept, counts, has_timestamp, [note] if note else []


def _no_rows_problem(total: int, unreadable: int, missing_ids: int, bad_ts: int, ts_example: str | None) -> str:
    """Why no row of an events file is usable, as the end of a one-line message."""
    example = f" (first: {ts_example}; want integer epoch seconds or ISO 8601)" if ts_example else ""
    if total == 0:
        return "no usable events: the file has no data rows"
    if bad_ts == total:
        return f"no usable events: 0 of {total} rows had a parseable timestamp{example}"
    if missing_ids == total:
        return f"no usable events: all {total} rows lack a user_id or an item_id"
    if unreadable == total:
        return f"no usable events: none of its {total} rows could be read (wrong number of fields or not a JSON object)"
    return (
        f"no usable events in {total} rows: {unreadable} unreadable, {missing_ids} without a user_id or item_id, "
        f"{bad_ts} without a parseable timestamp{example}"
    )


EVENT_SCHEMA = {
    "user_id": pl.String,
    "item_id": pl.String,
    "timestamp": pl.Float64,
    "event": pl.String,
    "query": pl.String,
    "order": pl.Int64,
}


def _events_frame(df: pl.DataFrame, first_row: int) -> pl.DataFrame:
    """One batch in the schema of `RawData.events`; `order` continues from `first_row`."""
    n = df.height

    def col(name: str, fn) -> pl.Series:
        return fn(df[name]) if name in df.columns else pl.Series([None] * n, dtype=EVENT_SCHEMA[name])

    return pl.DataFrame(
        {
            "user_id": col("user_id", _clean_str),
            "item_id": col("item_id", _clean_str),
            "timestamp": col("timestamp", _timestamps),
            "event": col("event", lambda c: _clean_str(c).str.to_lowercase()),
            "query": col("query", _clean_str),
            "order": pl.Series(np.arange(first_row, first_row + n, dtype=np.int64)),
        },
        schema=EVENT_SCHEMA,
    )


def _clean_str(col: pl.Series) -> pl.Series:
    """Stripped strings, empty -> null. Integral floats are written as integers (an id column read as
    floats because it mixes 1 and 1.5 still names item 1 "1", not "1.0")."""
    if col.dtype.is_float():
        integral = col.is_finite() & (col == col.round()) & (col.abs() < 2.0**53)
        col = pl.select(
            pl.when(integral).then(col.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(col.cast(pl.String))
        ).to_series()
    s = col.cast(pl.String, strict=False).str.strip_chars()
    return s.set(s == "", None) if s.len() else s


def split_categories(value: object) -> list[str]:
    """Category path as a list: accepts a list, `a|b|c`, a list literal `['a', 'b']` or the quoted-comma
    style `'a', 'b'`. A value is only read as a literal when it is one (it parses to a list of
    scalars); labels that merely start with a quote or a bracket (`'Tis the Season|Gifts`,
    `[Sale]|Beauty`) are split on `|` like any other value."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    s = str(value).strip()
    if not s:
        return []
    bracketed = s[0] == "[" and s[-1] == "]"
    if bracketed or s[0] in "'\"":
        try:
            parsed = ast.literal_eval(s if bracketed else f"[{s}]")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            parsed = None
        if isinstance(parsed, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in parsed):
            return [str(v).strip() for v in parsed if str(v).strip()]
        if bracketed and "|" not in s:  # [a, b] with unquoted labels
            return [p.strip().strip("'\"") for p in s[1:-1].split(",") if p.strip().strip("'\"")]
    sep = "|" if "|" in s else None
    return [p.strip() for p in (s.split(sep) if sep else [s]) if p.strip()]


def read_items(path: str | Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """Reads an item catalog into ITEM_SCHEMA; repeated item ids keep the first row. Raises
    `DataError` ("items file PATH: ...") when the file cannot be read or has no `item_id` column."""
    with reading(f"items file {path}"):
        df, unreadable = read_table(path)
        if "item_id" not in df.columns:
            raise DataError(f"no 'item_id' column (items need one; the file has: {', '.join(df.columns) or 'none'})")
    n = df.height

    def text(name: str) -> pl.Series:
        return _clean_str(df[name]) if name in df.columns else pl.Series([None] * n, dtype=pl.String)

    cats = df["categories"].to_list() if "categories" in df.columns else [None] * n
    price = prices(df["price"]) if "price" in df.columns else pl.Series([None] * n, dtype=pl.Float64)
    items = pl.DataFrame(
        {
            "item_id": integral_ids(_clean_str(df["item_id"])),
            "title": text("title"),
            "categories": pl.Series([split_categories(c) for c in cats], dtype=pl.List(pl.String)),
            "brand": text("brand"),
            "description": text("description"),
            "price": price,
            "attributes": pl.Series([[] for _ in range(n)], dtype=pl.List(pl.String)),
        }
    )
    return _dedupe_items(items, unreadable)


def _dedupe_items(items: pl.DataFrame, unreadable: int = 0) -> tuple[pl.DataFrame, dict[str, int]]:
    valid = items.filter(pl.col("item_id").is_not_null())
    uniq = valid.unique(subset=["item_id"], keep="first", maintain_order=True)
    return uniq, {
        "item_rows_read": items.height + unreadable,
        "item_rows_malformed": unreadable + items.height - valid.height,
        "item_rows_duplicate": valid.height - uniq.height,
    }


def load_files(events: str | Path, items: str | Path | None = None, name: str | None = None) -> RawData:
    """Events file (+ optional items file) in the documented formats."""
    ev, counts = read_events(events)
    if items:
        it, item_counts = read_items(items)
        counts.update(item_counts)
        warn_item_overlap(ev, it, f"items file {items}")
    else:
        it = pl.DataFrame(schema=ITEM_SCHEMA)
    return RawData(name or Path(events).stem, ev, it, counts, source=f"events file {events}")


def warn_item_overlap(events: pl.DataFrame, items: pl.DataFrame, source: str) -> None:
    """Warns (`DataWarning`) when fewer than half of the item ids in the events are in the items file:
    the two files likely name items differently (`A12` and `a12`, `12` and `0012`), and the events'
    items would train without titles or categories."""
    ids = events["item_id"].unique(maintain_order=True)
    if items.height == 0 or ids.len() == 0:
        return
    found = ids.to_frame().join(items.select("item_id"), on="item_id", how="semi").height
    if 2 * found >= ids.len():
        return

    def examples(col: pl.Series) -> str:
        return ", ".join(repr(v) for v in col.head(3).to_list())

    warnings.warn(
        f"{source}: only {found} of the {ids.len()} item ids in the events are in it (events: "
        f"{examples(ids)}; items file: {examples(items['item_id'])}): the others have no metadata",
        DataWarning,
        stacklevel=3,
    )


# ---------------------------------------------------------------------------------------------------
# Research formats


def import_beauty(directory: str | Path) -> RawData:
    """The S3-Rec sequence format: `NAME.txt` (`user item item ...` per line, time order),
    optional `NAME.item` (tab-separated `item_id:token title:token categories:token_seq`) and
    `NAME_item2attributes.json` (item id -> attribute ids, turned into tokens `attrN`). `directory`
    is the folder (its sequence file picked by `beauty_sequence_file`), or, to pick one data set of a
    folder holding several (the S3-Rec repository's `data/`), the sequence file itself
    (`data/Sports_and_Outdoors.txt`) or its path without `.txt`."""
    path = Path(directory)
    named = path if path.suffix == ".txt" and path.is_file() else Path(f"{path}.txt")
    if not path.is_dir() and named.is_file():
        seq_path, directory = named, named.parent
    else:
        directory = path
        with reading(f"--beauty folder {directory}"):
            seq_path = beauty_sequence_file(directory)
    name = seq_path.stem
    source = f"sequence file {seq_path}"
    users, items, malformed, rows = [], [], 0, 0
    with reading(source), seq_path.open(encoding="utf-8-sig") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            rows += 1
            if len(parts) < 2:
                malformed += 1
                continue
            users.extend([parts[0]] * (len(parts) - 1))
            items.extend(parts[1:])
    n = len(users)
    if n == 0:
        raise DataError(
            f"no usable events: none of its {rows} lines is `user_id item_id ...`"
            if rows
            else "no usable events: the file is empty",
            source,
        )
    events = pl.DataFrame(
        {
            "user_id": pl.Series(users, dtype=pl.String),
            "item_id": pl.Series(items, dtype=pl.String),
            "timestamp": pl.Series([None] * n, dtype=pl.Float64),
            "event": pl.Series([None] * n, dtype=pl.String),
            "query": pl.Series([None] * n, dtype=pl.String),
            "order": pl.Series(np.arange(n, dtype=np.int64)),
        }
    )
    counts = {"rows_read": n, "malformed": malformed, "sequence_lines": rows}
    item_path = directory / f"{name}.item"
    if item_path.exists():
        item_df, item_counts = read_atomic_items(item_path)
        counts.update(item_counts)
    else:
        item_df = pl.DataFrame(schema=ITEM_SCHEMA)
    # NAME's own attributes; a differently named one only when it is the folder's single attributes
    # file and no other data set's sequence file (its NAME.txt) is beside it to own it.
    attr_paths = list(directory.glob(f"{name}_item2attributes.json"))
    others = list(directory.glob("*item2attributes.json"))
    if not attr_paths and len(others) == 1:
        owner = others[0].name[: -len("item2attributes.json")].rstrip("_")
        if not (directory / f"{owner}.txt").is_file():
            attr_paths = others
    if attr_paths:
        with reading(f"attributes file {attr_paths[0]}"):
            try:
                attrs = json.loads(attr_paths[0].read_text(encoding="utf-8-sig"))
            except json.JSONDecodeError as e:
                raise DataError(f"not JSON ({e.msg}, line {e.lineno})") from None
            if not isinstance(attrs, dict):
                raise DataError("not a JSON object of item id -> attribute ids")
        attr_tokens = {str(k): [f"attr{a}" for a in v] for k, v in attrs.items()}
        known = set(item_df["item_id"].to_list())
        extra = [k for k in attr_tokens if k not in known]
        if extra:
            item_df = pl.concat([item_df, _empty_items(extra)])
        item_df = item_df.with_columns(
            pl.Series(
                "attributes", [attr_tokens.get(i, []) for i in item_df["item_id"].to_list()], dtype=pl.List(pl.String)
            )
        )
    return RawData(name.lower(), events, item_df, counts, source=source)


def beauty_sequence_file(directory: Path) -> Path:
    """The `NAME.txt` of an S3-Rec folder: the .txt named like the folder's `NAME.item` or
    `NAME_item2attributes.json`, or the only .txt when there is neither. Anything else (a README.txt
    beside the data, two data sets in one folder) is ambiguous and raises `DataError`."""
    if not directory.is_dir():
        raise DataError("no such folder" if not directory.exists() else "not a folder")
    txt = sorted(directory.glob("*.txt"))
    if not txt:
        raise DataError("no NAME.txt sequence file in it")
    stems = sorted(
        {p.stem for p in directory.glob("*.item")}
        | {p.name[: -len("_item2attributes.json")] for p in directory.glob("*_item2attributes.json")}
    )
    matching = [p for p in txt if p.stem in stems]
    if len(matching) == 1:
        return matching[0]
    if not stems and len(txt) == 1:
        return txt[0]
    names = ", ".join(p.name for p in txt)
    if matching:
        raise DataError(
            f"several data sets in one folder ({', '.join(p.name for p in matching)}): pass a folder with one"
        )
    if stems:
        raise DataError(
            f"none of its .txt files ({names}) is named like its .item or _item2attributes.json "
            f"files ({', '.join(stems)}): which one holds the sequences?"
        )
    raise DataError(
        f"{len(txt)} .txt files ({names}) and no NAME.item or NAME_item2attributes.json to tell "
        "which holds the sequences"
    )


def _empty_items(ids: list[str]) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "item_id": pl.Series(ids, dtype=pl.String),
            "title": pl.Series([None] * n, dtype=pl.String),
            "categories": pl.Series([[] for _ in ids], dtype=pl.List(pl.String)),
            "brand": pl.Series([None] * n, dtype=pl.String),
            "description": pl.Series([None] * n, dtype=pl.String),
            "price": pl.Series([None] * n, dtype=pl.Float64),
            "attributes": pl.Series([[] for _ in ids], dtype=pl.List(pl.String)),
        }
    )


# RecBole datasets whose config names other id/time fields (ITEM_ID_FIELD, TIME_FIELD): Yelp's
# `business_id` and `date`, and a few others seen in RecBole's dataset list.
ATOMIC_ALIASES = {"item_id": ("business_id", "movie_id", "product_id"), "timestamp": ("date", "time")}


def atomic_aliases(header: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The header with a dataset's own id or time field named as the trainer reads it, when the
    standard name is absent (`business_id:token` -> `item_id`; a numeric `date:float` -> `timestamp`)."""
    types = dict(header)
    renamed: dict[str, str] = {}
    for want, aliases in ATOMIC_ALIASES.items():
        if want in types:
            continue
        for a in aliases:
            typ = types.get(a)
            if typ is not None and (want != "timestamp" or typ == "float"):
                renamed[a] = want
                break
    return [(renamed.get(n, n), t) for n, t in header]


def read_atomic(path: str | Path) -> tuple[list[tuple[str, str]], list[list[str]], int]:
    """A RecBole atomic file: tab-separated, header fields `name:type`. Returns the (name, type)
    header, the rows as strings, and how many rows had the wrong number of fields."""
    rows, bad = [], 0
    with Path(path).open(encoding="utf-8-sig") as f:
        first = f.readline()
        if not first.strip():
            raise DataError(
                "the file is empty: a RecBole atomic file needs a header line like "
                "'user_id:token<TAB>item_id:token<TAB>timestamp:float'"
            )
        fields_ = [h.strip() for h in first.rstrip("\r\n").split("\t")]
        header = [
            (h.split(":", 1)[0].strip(), h.split(":", 1)[1].strip()) if ":" in h else (h, "token") for h in fields_
        ]
        header = atomic_aliases(header)
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != len(header):
                bad += 1
                continue
            rows.append(parts)
    return header, rows, bad


def split_token_seq(value: str) -> list[str]:
    """A RecBole `token_seq` cell: space separated (`a b c`) or quoted comma style (`'a', 'b c'`)."""
    value = value.strip()
    if not value:
        return []
    if value[0] in "'\"[":
        return split_categories(value)
    return value.split()


ATOMIC_TITLE = ("title", "movie_title", "item_name", "name")
ATOMIC_CATEGORIES = ("categories", "genre", "genres", "class", "category", "sales_type")
"""RecBole `.item` columns read as the title and the categories (the first of each that the file has):
Amazon (`title`, `categories`, `sales_type`), MovieLens (`movie_title`; `genre` in ml-1m, `class` in
ml-100k), Yelp (`item_name`, `categories`)."""


def read_atomic_items(path: str | Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """`NAME.item`: `item_id:token` plus text columns. The title is the first of `ATOMIC_TITLE`, the
    categories the first of `ATOMIC_CATEGORIES` (see `atomic_categories`: a `token_seq` of genres is a
    list of categories), then `brand`, `price` and `description`. Every other `token`/`token_seq`
    column that is not an id (`*_id`) and not all numbers (years, ranks, zip codes) is added to the
    description (`address`, `city`, `director`, a second category column). `token_seq` text is joined
    with spaces."""
    with reading(f"item file {path}"):
        header, rows, bad = read_atomic(path)
    names = [h[0] for h in header]
    types = dict(header)
    if "item_id" not in names:
        raise DataError(f"no item_id column (have {', '.join(names)})", f"item file {path}")
    col = {n: i for i, n in enumerate(names)}

    def get(row: list[str], name: str | None) -> str | None:
        i = col.get(name) if name else None
        return row[i].strip() or None if i is not None else None

    def text(row: list[str], name: str | None) -> str | None:
        v = get(row, name)
        if v is not None and types.get(name) == "token_seq":
            v = " ".join(split_token_seq(v))
        return v

    def numeric(name: str) -> bool:
        values = [v for v in (get(r, name) for r in rows) if v is not None]
        return all(_NUMBER_RE.match(v) for v in values)

    title = next((n for n in ATOMIC_TITLE if n in col), None)
    cats = next((n for n in ATOMIC_CATEGORIES if n in col), None)
    used = {"item_id", title, cats, "brand", "price", "description"}
    described = ["description"] + [
        n
        for n in names
        if n not in used and types[n] in ("token", "token_seq") and not re.search(r"(^|_)ids?$", n) and not numeric(n)
    ]

    def description(row: list[str]) -> str | None:
        return " ".join(t for t in (text(row, n) for n in described) if t) or None

    items = pl.DataFrame(
        {
            "item_id": pl.Series([get(r, "item_id") for r in rows], dtype=pl.String),
            "title": pl.Series([text(r, title) for r in rows], dtype=pl.String),
            "categories": pl.Series(
                [atomic_categories(get(r, cats), types.get(cats, "token")) for r in rows], dtype=pl.List(pl.String)
            ),
            "brand": pl.Series([text(r, "brand") for r in rows], dtype=pl.String),
            "description": pl.Series([description(r) for r in rows], dtype=pl.String),
            "price": prices(pl.Series([get(r, "price") for r in rows], dtype=pl.String)),
            "attributes": pl.Series([[] for _ in rows], dtype=pl.List(pl.String)),
        }
    )
    return _dedupe_items(items, bad)


_NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d*)?$")


def atomic_categories(value: str | None, kind: str) -> list[str]:
    """A RecBole categories cell as a list. A `token_seq` is a list: quoted (`'Beauty', 'Skin Care'`),
    `|`- or comma-separated (`Action|Comedy`, `Pizza, Fast Food`), else space-separated (`Action
    Comedy`, RecBole's own separator). A `token` is one label, or a `|`-separated path."""
    if not value:
        return []
    if kind != "token_seq" or value[0] in "'\"[" or "|" in value:
        return split_categories(value)
    if "," in value:
        return [p.strip() for p in value.split(",") if p.strip()]
    return value.split()


_CURRENCY = re.compile(r"^(?:[$€£¥₹₩]|[A-Z]{3}|[A-Z]{1,2}\$|kr|zł|Rs\.?)?\s*(.*?)\s*(?:[$€£¥₹₩]|[A-Z]{3}|kr|zł)?$")
_PRICE_FORMS = (
    (re.compile(r"^\d+,\d{1,2}$"), ",", "."),  # 12,99 (decimal comma)
    (re.compile(r"^\d{1,3}(,\d{3})+\.\d+$"), ",", ""),  # 1,299.00
    (re.compile(r"^\d{1,3}(,\d{3}){2,}$"), ",", ""),  # 1,299,000 (two commas: not a decimal comma)
    (re.compile(r"^\d{1,3}(\.\d{3})+,\d+$"), ".", ""),  # 1.299,00 (then , -> .)
    (re.compile(r"^\d{1,3}(\.\d{3}){2,}$"), ".", ""),  # 1.299.000
    (re.compile(r"^\d{1,3}([ '\u00a0\u202f]\d{3})+([.,]\d{1,2})?$"), None, None),  # 1 299,00 / 1'299.00
)


def parse_price(value: object) -> float | None:
    """A price as a number: plain numbers, and text with a currency sign or code (`$12.99`, `12,99 €`,
    `EUR 5`) and thousands separators (`1,299.00`, `1.299,00`, `1 299,00`, `1,299,000`). None where it
    is not a finite number or is ambiguous: `1,299` (1299 or 1.299?), `free`, `10-20`."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    s = str(value).strip()
    try:
        v = float(s)
        return v if math.isfinite(v) else None
    except ValueError:
        pass
    m = _CURRENCY.match(s)
    s = m.group(1) if m else s
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    for form, sep, repl in _PRICE_FORMS:
        if form.match(s):
            if sep is None:  # spaces or apostrophes group thousands; the mark before 1-2 digits is decimal
                s = re.sub(r"[ '\u00a0\u202f]", "", s).replace(",", ".")
            else:
                s = s.replace(sep, repl).replace(",", ".")
            return float(s)
    return None


def prices(col: pl.Series) -> pl.Series:
    """`parse_price` over a column (numbers or text); Float64, null where not a price."""
    if col.dtype.is_numeric():
        col = col.cast(pl.Float64)
        return col.set(~col.is_finite(), None) if col.len() else col
    if col.dtype != pl.String and not col.dtype.is_temporal() and col.dtype != pl.Boolean:  # lists, structs
        return pl.Series(col.name, [None] * col.len(), dtype=pl.Float64)
    col = col.cast(pl.String)
    lookup = {u: parse_price(u) for u in col.unique().drop_nulls().to_list()}
    return col.replace_strict(lookup, default=None, return_dtype=pl.Float64)


# RecBole's benchmark split files (`benchmark_filename: [train, valid, test]`): one log, in this order.
SPLIT_SUFFIXES = (".train.inter", ".valid.inter", ".test.inter")


def recbole_inter_files(prefix: Path) -> list[Path]:
    """`PREFIX.inter`, or else RecBole's benchmark split `PREFIX.train.inter`, `.valid.inter`,
    `.test.inter` (those present), read as one log in that order: the trainer splits it its own way
    (leave-one-out by time, DATA.md), and a user's rows across the three stay in order."""
    whole = prefix.with_name(prefix.name + ".inter")
    if whole.is_file():
        return [whole]
    return [f for f in (prefix.with_name(prefix.name + s) for s in SPLIT_SUFFIXES) if f.is_file()]


def recbole_prefix(path: str | Path) -> Path:
    """The PREFIX of RecBole atomic files from what `--recbole` was given: a prefix (`DIR/NAME` for
    `DIR/NAME.inter`), the `.inter` file itself, or RecBole's standard layout, a folder `NAME/` holding
    `NAME.inter` (or else its only `*.inter`)."""
    p = Path(path)
    if p.is_dir():
        own = p / p.resolve().name
        if own.with_name(own.name + ".inter").is_file() or own.with_name(own.name + ".train.inter").is_file():
            return own
        inters = sorted(i for i in p.glob("*.inter") if not i.name.endswith(SPLIT_SUFFIXES))
        if len(inters) == 1:
            return inters[0].with_name(inters[0].name[: -len(".inter")])
        split_sets = {i.name[: -len(s)] for i in p.glob("*.inter") for s in SPLIT_SUFFIXES if i.name.endswith(s)}
        if not inters and len(split_sets) == 1:
            return p / split_sets.pop()
        if not inters:
            raise DataError("no NAME.inter file in it", f"--recbole folder {p}")
        raise DataError(
            f"several .inter files ({', '.join(i.name for i in inters)}) and none named "
            f"{own.name}.inter: pass the prefix {p}/NAME",
            f"--recbole folder {p}",
        )
    if p.name.endswith(".inter") and p.is_file():
        for suffix in SPLIT_SUFFIXES:
            if p.name.endswith(suffix):
                return p.with_name(p.name[: -len(suffix)])
        return p.with_name(p.name[: -len(".inter")])
    if not p.with_name(p.name + ".inter").exists() and not p.with_name(p.name + ".train.inter").exists():
        raise DataError(
            f"no {p.name}.inter: --recbole takes a prefix PREFIX (for PREFIX.inter and PREFIX.item) "
            "or a folder NAME/ holding NAME.inter",
            f"--recbole {p}",
        )
    return p


def import_recbole(prefix: str | Path) -> RawData:
    """RecBole atomic files `PREFIX.inter` and optional `PREFIX.item` (`prefix` may also be a folder
    `NAME/` holding `NAME.inter`, see `recbole_prefix`).

    `.inter` is either event rows (`user_id:token item_id:token timestamp:float`, timestamp optional)
    or sequence rows (`user_id:token item_id_list:token_seq item_id:token`: a history and its next
    item). Sequence rows are rebuilt into each user's whole sequence (`sequence_rows`), in file order
    without timestamps. Numeric timestamps in epoch milliseconds (microseconds, nanoseconds) are
    converted to seconds with a warning (`epoch_seconds`)."""
    prefix = recbole_prefix(prefix)
    files = recbole_inter_files(prefix)
    inter = files[0]
    source = f"RecBole file {inter}" if len(files) == 1 else f"RecBole files {', '.join(str(f) for f in files)}"
    header, rows, bad = [], [], 0
    for f in files:
        with reading(f"RecBole file {f}"):
            h, r, b = read_atomic(f)
            if header and h != header:
                raise DataError(f"its header differs from {files[0].name}'s: {h} vs {header}")
        header, rows, bad = h, rows + r, bad + b
    unreadable = bad
    names = [h[0] for h in header]
    col = {n: i for i, n in enumerate(names)}
    for req in ("user_id", "item_id"):
        if req not in col:
            raise DataError(
                f"no {req!r} column in its header (have {', '.join(names)}); RecBole events need "
                "user_id:token and item_id:token (or item_id_list:token_seq and item_id:token)",
                source,
            )
    users: list[str] = []
    items: list[str] = []
    stamps: list[str | None] = []
    if "item_id_list" in col:
        sequences, bad, inconsistent = sequence_rows(rows, col["user_id"], col["item_id_list"], col["item_id"], bad)
        if inconsistent:
            warnings.warn(
                f"{source}: the sequence rows of {inconsistent} of {len(sequences)} users are not one growing "
                "history in file order (a row's item_id_list is not the end of the user's earlier items): for "
                "those the longest item_id_list plus its item_id is the sequence",
                DataWarning,
                stacklevel=2,
            )
        for u, seq in sequences.items():
            users.extend([u] * len(seq))
            items.extend(seq)
            stamps.extend([None] * len(seq))
    else:
        ts_i = col.get("timestamp")
        for r in rows:
            users.append(r[col["user_id"]].strip())
            items.append(r[col["item_id"]].strip())
            stamps.append(r[ts_i].strip() if ts_i is not None else None)
    n = len(users)
    raw = pl.DataFrame(
        {
            "user_id": pl.Series(users, dtype=pl.String),
            "item_id": pl.Series(items, dtype=pl.String),
            "timestamp": pl.Series(stamps, dtype=pl.String),
        }
    )
    timestamps, note = epoch_seconds(_timestamps(raw["timestamp"]), _numeric_epochs(raw["timestamp"]))
    if note:
        warnings.warn(f"{source}: {note}", DataWarning, stacklevel=2)
    events = pl.DataFrame(
        {
            "user_id": _clean_str(raw["user_id"]),
            "item_id": _clean_str(raw["item_id"]),
            "timestamp": timestamps,
            "event": pl.Series([None] * n, dtype=pl.String),
            "query": pl.Series([None] * n, dtype=pl.String),
            "order": pl.Series(np.arange(n, dtype=np.int64)),
        }
    )
    ok = pl.col("user_id").is_not_null() & pl.col("item_id").is_not_null()
    if "timestamp" in col and "item_id_list" not in col:
        ok = ok & pl.col("timestamp").is_not_null()
    kept = events.filter(ok)
    if kept.height == 0:
        ids = events["user_id"].is_not_null() & events["item_id"].is_not_null()
        checks_ts = "timestamp" in col and "item_id_list" not in col
        no_ts = (ids & events["timestamp"].is_null()).to_list() if checks_ts else [False] * n
        example = next((repr(t) if t else "empty" for t, b in zip(stamps, no_ts) if b), None)
        total = len(rows) + unreadable
        raise DataError(
            _no_rows_problem(total, unreadable, total - unreadable - int(ids.sum()), sum(no_ts), example), source
        )
    if "item_id_list" not in col and "timestamp" not in col:
        warnings.warn(
            f"{source}: no 'timestamp' column: each user's events are taken in file order", DataWarning, stacklevel=2
        )
    counts = {"rows_read": len(rows) + bad, "malformed": bad + n - kept.height}
    item_path = prefix.with_name(prefix.name + ".item")
    if item_path.exists():
        it, item_counts = read_atomic_items(item_path)
        counts.update(item_counts)
        warn_item_overlap(kept, it, f"item file {item_path}")
    else:
        it = pl.DataFrame(schema=ITEM_SCHEMA)
    return RawData(prefix.name, kept, it, counts, source=source)


def sequence_rows(
    rows: list[list[str]], user: int, history: int, target: int, bad: int
) -> tuple[dict[str, list[str]], int, int]:
    """Each user's item sequence from RecBole sequence rows (`user_id, item_id_list, item_id` at those
    field indices), with `bad` plus the rows without a user or a target, and the number of users whose
    rows are inconsistent.

    RecBole's augmentation writes one row per prefix: the history so far (cut to its newest
    MAX_ITEM_LIST_LENGTH items, 50 by default) and the next item. So the sequence is the first row's
    history followed by every row's target in file order; this holds however the histories were cut.
    When a user's row does not fit (its history is not the end of the items before it: rows shuffled
    or of several sequences), the user's sequence is the longest history plus its target instead."""
    sequences: dict[str, list[str]] = {}
    longest: dict[str, list[str]] = {}
    inconsistent: set[str] = set()
    for r in rows:
        u, item = r[user].strip(), r[target].strip()
        if not u or not item:
            bad += 1
            continue
        hist = split_token_seq(r[history])
        seq = sequences.get(u)
        if seq is None:
            sequences[u] = hist + [item]
        else:
            if len(hist) > len(seq) or seq[len(seq) - len(hist) :] != hist:
                inconsistent.add(u)
            seq.append(item)
        if len(hist) + 1 > len(longest.get(u, ())):
            longest[u] = hist + [item]
    for u in inconsistent:
        sequences[u] = longest[u]
    return sequences, bad, len(inconsistent)


# ---------------------------------------------------------------------------------------------------
# Cleaning


def event_types(col: pl.Series) -> pl.Series:
    """Event names as the contract's types where they are one or a synonym (`EVENT_SYNONYMS`, any case
    and punctuation); other names lowercased and stripped; missing stays missing."""
    names = col.unique().drop_nulls().to_list()
    lookup = {}
    for name in names:
        low = name.strip().lower()
        lookup[name] = EVENT_SYNONYMS.get(re.sub(r"[^a-z0-9]", "", low), low)
    return col.replace_strict(lookup, default=None, return_dtype=pl.String)


def clean(raw: RawData, cfg: DataConfig) -> RawData:
    """Normalises event types, drops unknown types, exact duplicates and users with too few events;
    every drop is counted in the returned `counts`. Raises `DataError` when nothing usable is left
    (no event of a known type, or no user with the 3 events leave-one-out needs)."""
    counts = dict(raw.counts)
    if raw.events.height == 0:
        raise DataError("no usable events: the data has no events", raw.source)
    ev = raw.events.with_columns(event_types(raw.events["event"]).fill_null(DEFAULT_EVENT))
    known = ev["event"].is_in(list(EVENT_TYPES[1:]))
    counts["unknown_event"] = int((~known).sum())
    unknown = ""
    if counts["unknown_event"]:
        seen = ev.filter(~known).group_by("event").len().sort(["len", "event"], descending=[True, False])
        unknown = ", ".join(f"{e!r} ({k})" for e, k in seen.head(8).iter_rows()) + (", ..." if seen.height > 8 else "")
    types = f"{', '.join(EVENT_TYPES[1:])} or a synonym; empty = {DEFAULT_EVENT}"
    prefix = f"{raw.source}: " if raw.source else ""
    if not known.any():
        raise DataError(
            f"no usable events: 0 of {ev.height} events have a known event type ({types}); found {unknown}",
            raw.source,
        )
    if counts["unknown_event"]:
        warnings.warn(
            f"{prefix}dropped {counts['unknown_event']} events of unknown types ({types}): {unknown}",
            DataWarning,
            stacklevel=2,
        )
    ev = ev.filter(known)
    # Exact repeats of (user, item, time, event) are logging duplicates; without timestamps a repeat is
    # a real re-purchase, so nothing is dropped.
    if ev["timestamp"].null_count() < ev.height:
        before = ev.height
        ev = ev.unique(subset=["user_id", "item_id", "timestamp", "event"], keep="first", maintain_order=True)
        counts["duplicate"] = before - ev.height
    else:
        counts["duplicate"] = 0
    per_user = ev.group_by("user_id").len()
    few = per_user.filter(pl.col("len") < cfg.min_user_events)
    counts["users_too_few_events"] = few.height
    counts["events_of_users_too_few"] = int(few["len"].sum()) if few.height else 0
    ev = ev.join(few.select("user_id"), on="user_id", how="anti", maintain_order="left")
    counts["events_kept"] = ev.height
    need = 3  # leave-one-out: at least one history event, a validation and a test target
    if not (per_user["len"] >= max(need, cfg.min_user_events)).any():
        raise DataError(
            f"no usable events: no user has the {max(need, cfg.min_user_events)} events leave-one-out needs "
            f"(history, validation, test): {per_user.height} users with at most {per_user['len'].max()} "
            f"events each"
            + (f" after dropping {counts['unknown_event']} of unknown types: {unknown}" if unknown else ""),
            raw.source,
        )
    return RawData(raw.name, ev, raw.items, counts, source=raw.source)


# ---------------------------------------------------------------------------------------------------
# Sequences


@dataclass
class SeqDataset:
    """Everything numeric the model needs, plus the metadata the artifact needs.

    Items are indexed 1..N (0 = padding); row `r` of the exported table is item index `r + 1`.
    User `u`'s events are `items[offsets[u]:offsets[u+1]]` in time order (CSR layout)."""

    name: str
    item_ids: list[str]
    titles: list[str | None]
    item_categories: list[list[str]]
    brands: list[str | None]
    prices: list[float | None]
    user_ids: list[str]
    offsets: np.ndarray  # (U+1,) int64
    items: np.ndarray  # (E,) int64 item index 1..N
    events: np.ndarray  # (E,) int64 index into EVENT_TYPES
    timestamps: np.ndarray  # (E,) float64 epoch seconds, NaN when unknown
    vocab: Vocab
    item_tokens: np.ndarray  # (N+1, T) int64 token ids, row 0 = padding item
    categories: list[str]  # class names of the category heads
    item_category: np.ndarray  # (N+1,) int64 class index, -1 = none
    train_counts: np.ndarray  # (N+1,) interactions in the training part
    query_tokens: np.ndarray  # (Q, T) token ids of search queries in the training part
    query_items: np.ndarray  # (Q,) the item each of those searches led to
    counts: dict[str, int]
    has_timestamps: bool

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    def lengths(self) -> np.ndarray:
        """(U,) number of events per user."""
        return np.diff(self.offsets)

    def stats(self) -> dict:
        """The manifest's `dataset` block."""
        return {
            "name": self.name,
            "users": self.num_users,
            "items": self.num_items,
            "events": int(self.items.shape[0]),
            "itemsWithoutInteractions": int((self.train_counts[1:] == 0).sum()),
            "cleaning": self.counts,
        }


def pick_category_level(paths: list[list[str]], level: int) -> int:
    """`level`, or when -1 the most general level with at least two distinct values."""
    if level >= 0:
        return level
    depth = max((len(p) for p in paths), default=0)
    for lv in range(depth):
        if len({p[lv] for p in paths if len(p) > lv}) >= 2:
            return lv
    return 0


def item_documents(items: pl.DataFrame) -> list[list[str]]:
    """Token lists per item row: title, categories, brand, description, attribute tokens."""
    docs = []
    for title, cats, brand, desc, attrs in zip(
        items["title"].to_list(),
        items["categories"].to_list(),
        items["brand"].to_list(),
        items["description"].to_list(),
        items["attributes"].to_list(),
    ):
        doc = tokenize(title)
        for c in cats or []:
            doc += tokenize(c)
        doc += tokenize(brand) + tokenize(desc) + list(attrs or [])
        docs.append(doc)
    return docs


def build_dataset(raw: RawData, cfg: DataConfig) -> SeqDataset:
    """Cleaned events + items -> `SeqDataset`. Catalog items come first in file order, then items seen
    only in events, in order of first appearance. Catalog items without events are kept (cold start)."""
    ev = raw.events.sort(["user_id", "timestamp", "order"], nulls_last=True, maintain_order=True)
    catalog = raw.items
    catalog_ids = catalog["item_id"].to_list()
    known = set(catalog_ids)
    extra = [i for i in ev["item_id"].unique(maintain_order=True).to_list() if i not in known]
    counts = dict(raw.counts)
    counts["event_items_without_metadata"] = len(extra)
    if extra:
        catalog = pl.concat([catalog, _empty_items(extra)])
    item_ids = catalog["item_id"].to_list()
    index = {iid: r + 1 for r, iid in enumerate(item_ids)}

    # Vectorised per event (no Python object per event): user boundaries, item and event indices.
    n_events = ev.height
    starts = (
        np.flatnonzero(ev["user_id"].ne_missing(ev["user_id"].shift(1)).to_numpy())
        if n_events
        else np.zeros(0, np.int64)
    )
    offsets = np.append(starts, n_events).astype(np.int64)
    user_ids = ev["user_id"].gather(starts).to_list()
    item_idx = ev["item_id"].replace_strict(index, return_dtype=pl.Int64).to_numpy().astype(np.int64)
    ev_lookup = {e: i for i, e in enumerate(EVENT_TYPES)}
    event_idx = ev["event"].replace_strict(ev_lookup, return_dtype=pl.Int64).to_numpy().astype(np.int64)
    ts = ev["timestamp"].cast(pl.Float64).fill_null(float("nan")).to_numpy().astype(np.float64)

    docs = item_documents(catalog)
    vocab = Vocab.build(docs, cfg.min_token_count, cfg.hash_buckets, cfg.max_tokens)
    tokens = np.zeros((len(item_ids) + 1, cfg.max_tokens), dtype=np.int64)
    tokens[1:] = vocab.encode(docs)

    paths = catalog["categories"].to_list()
    level = pick_category_level(paths, cfg.category_level)
    labels = [p[level] if len(p) > level else None for p in paths]
    freq: dict[str, int] = {}
    for lab in labels:
        if lab is not None:
            freq[lab] = freq.get(lab, 0) + 1
    categories = sorted(freq, key=lambda c: (-freq[c], c))[: cfg.max_categories] or ["(none)"]
    cat_index = {c: i for i, c in enumerate(categories)}
    item_category = np.full(len(item_ids) + 1, -1, dtype=np.int64)
    item_category[1:] = [cat_index.get(lab, -1) if lab is not None else -1 for lab in labels]

    train_counts = np.zeros(len(item_ids) + 1, dtype=np.int64)
    in_train = training_part(offsets)
    np.add.at(train_counts, item_idx[in_train], 1)
    # (query, item) pairs of training-part search events: real supervision for the text encoder
    with_query = np.flatnonzero(in_train & ev["query"].is_not_null().to_numpy())
    queries = ev["query"].gather(with_query).to_list()
    pairs = [(tokenize(q), item_idx[i]) for q, i in zip(queries, with_query) if q]
    query_tokens = vocab.encode([p[0] for p in pairs]) if pairs else np.zeros((0, cfg.max_tokens), np.int64)
    query_items = np.array([p[1] for p in pairs], dtype=np.int64)
    counts["category_level"] = level

    return SeqDataset(
        name=raw.name,
        item_ids=item_ids,
        titles=catalog["title"].to_list(),
        item_categories=[list(p) for p in paths],
        brands=catalog["brand"].to_list(),
        prices=catalog["price"].to_list(),
        user_ids=user_ids,
        offsets=offsets,
        items=item_idx,
        events=event_idx,
        timestamps=ts,
        vocab=vocab,
        item_tokens=tokens,
        categories=categories,
        item_category=item_category,
        train_counts=train_counts,
        query_tokens=query_tokens,
        query_items=query_items,
        counts=counts,
        has_timestamps=bool(np.isfinite(ts).any()),
    )


# ---------------------------------------------------------------------------------------------------
# Leave-one-out split and padded batches

PHASES = ("train", "valid", "test")


@dataclass
class SplitArrays:
    """Left-padded model inputs for one phase; row b belongs to user `users[b]`.

    train: inputs are events [0, n-3], targets the next events [1, n-2] (all positions used).
    valid: history = events [0, n-3], target = event n-2.  test: history = [0, n-2], target = n-1."""

    users: np.ndarray  # (B,) user index
    hist_items: np.ndarray  # (B, L) item index, 0 = padding
    hist_events: np.ndarray  # (B, L) event index, 0 = padding
    hist_age: np.ndarray  # (B, L) float32 log1p(hours before the request), 0 when unknown
    targets: np.ndarray  # train: (B, L) next item per position, 0 = none; valid/test: (B,)
    target_events: np.ndarray  # same shape as targets
    history_end: np.ndarray  # (B,) absolute index (into the CSR arrays) one past the history


def log_age_hours(now: float, ts: np.ndarray) -> np.ndarray:
    """log1p(max(0, hours between `ts` and `now`)); 0 where either is unknown."""
    hours = (now - ts) / 3600.0
    out = np.log1p(np.clip(np.nan_to_num(hours, nan=0.0), 0.0, None))
    return out.astype(np.float32)


def split(ds: SeqDataset, phase: str, max_len: int) -> SplitArrays:
    """Leave-one-out by time (DATA.md): last event = test, second to last = validation, rest = train."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}")
    lengths = ds.lengths()
    # valid/test need at least one history event; train needs at least one (input, target) pair.
    need = 4 if phase == "train" else 3
    users = np.flatnonzero(lengths >= need)
    b = len(users)
    hist_items = np.zeros((b, max_len), dtype=np.int64)
    hist_events = np.zeros((b, max_len), dtype=np.int64)
    hist_age = np.zeros((b, max_len), dtype=np.float32)
    if phase == "train":
        targets = np.zeros((b, max_len), dtype=np.int64)
        target_events = np.zeros((b, max_len), dtype=np.int64)
    else:
        targets = np.zeros(b, dtype=np.int64)
        target_events = np.zeros(b, dtype=np.int64)
    history_end = np.zeros(b, dtype=np.int64)
    for row, u in enumerate(users):
        start, end = ds.offsets[u], ds.offsets[u + 1]
        if phase == "train":
            stop = end - 3  # history = [start, end-3), targets = [start+1, end-2)
            lo = max(start, stop - max_len)
            k = stop - lo
            hist_items[row, max_len - k :] = ds.items[lo:stop]
            hist_events[row, max_len - k :] = ds.events[lo:stop]
            targets[row, max_len - k :] = ds.items[lo + 1 : stop + 1]
            target_events[row, max_len - k :] = ds.events[lo + 1 : stop + 1]
            now = ds.timestamps[stop]
        else:
            stop = end - 2 if phase == "valid" else end - 1
            lo = max(start, stop - max_len)
            k = stop - lo
            hist_items[row, max_len - k :] = ds.items[lo:stop]
            hist_events[row, max_len - k :] = ds.events[lo:stop]
            targets[row] = ds.items[stop]
            target_events[row] = ds.events[stop]
            now = ds.timestamps[stop]
        hist_age[row, max_len - k :] = log_age_hours(now, ds.timestamps[lo:stop])
        history_end[row] = stop
    return SplitArrays(users, hist_items, hist_events, hist_age, targets, target_events, history_end)


def subset(arrays: SplitArrays, rows: np.ndarray) -> SplitArrays:
    """The given rows of a split."""
    return SplitArrays(*(getattr(arrays, f.name)[rows] for f in fields(SplitArrays)))


def history_items(ds: SeqDataset, arrays: SplitArrays, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row position in `rows`, item index) pairs of every item in each user's full history (not only
    the last max_len), used to exclude already-seen items from the ranking."""
    rr, cols = [], []
    for pos, row in enumerate(rows):
        u = arrays.users[row]
        seen = np.unique(ds.items[ds.offsets[u] : arrays.history_end[row]])
        rr.append(np.full(len(seen), pos, dtype=np.int64))
        cols.append(seen)
    if not rr:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rr), np.concatenate(cols)


def training_part(offsets: np.ndarray) -> np.ndarray:
    """(E,) True for events in the training part of CSR sequences: each user's events but the last two."""
    user_end = np.repeat(offsets[1:], np.diff(offsets))
    return user_end - np.arange(offsets[-1]) > 2


def train_mask(ds: SeqDataset) -> np.ndarray:
    """(E,) True for events in the training part (each user's events but the last two)."""
    return training_part(ds.offsets)


def following_pairs(ds: SeqDataset, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, gap) for every pair where item b follows item a by 1..window events inside one
    user's training part (all events but the last two). Item indices, 1..N."""
    src, dst, gaps = [], [], []
    for u in range(ds.num_users):
        seq = ds.items[ds.offsets[u] : ds.offsets[u + 1] - 2]
        for gap in range(1, min(window, len(seq) - 1) + 1):
            src.append(seq[:-gap])
            dst.append(seq[gap:])
            gaps.append(np.full(len(seq) - gap, gap, dtype=np.int64))
    if not src:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(src), np.concatenate(dst), np.concatenate(gaps)


def popular_lists(ds: SeqDataset, top: int = 1000, trending_fraction: float = 0.1) -> dict:
    """`popular.json`: all-time training counts and counts over the last `trending_fraction` of the
    training log by time (same as popular without timestamps). Rows are 0-based table rows."""

    def ranked(counts: np.ndarray) -> list[dict]:
        order = np.lexsort((np.arange(len(counts) - 1), -counts[1:]))
        return [{"row": int(r), "count": int(counts[r + 1])} for r in order[:top] if counts[r + 1] > 0]

    popular = ranked(ds.train_counts)
    if not ds.has_timestamps:
        return {"popular": popular, "trending": popular}
    mask = train_mask(ds)
    ts = ds.timestamps[mask]
    ts_ok = ts[np.isfinite(ts)]
    cut = np.quantile(ts_ok, 1.0 - trending_fraction) if len(ts_ok) else np.inf
    recent = ds.items[mask][np.isfinite(ts) & (ts >= cut)]
    counts = np.bincount(recent, minlength=ds.num_items + 1).astype(np.int64)
    return {"popular": popular, "trending": ranked(counts)}


def load_dataset(
    cfg: DataConfig,
    events: str | Path | None = None,
    items: str | Path | None = None,
    beauty: str | Path | None = None,
    recbole: str | Path | None = None,
) -> SeqDataset:
    """Reads one of the supported inputs, cleans it and builds the sequences."""
    if beauty:
        raw = import_beauty(beauty)
    elif recbole:
        raw = import_recbole(recbole)
    elif events:
        raw = load_files(events, items)
    else:
        raise ValueError("need --events, --beauty or --recbole")
    return build_dataset(clean(raw, cfg), cfg)
