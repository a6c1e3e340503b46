"""The training command on unusable or degenerate input, the statistics of the int8 parity gate, the
manifest's numbers, and CPU threads that do not depend on the machine's load (audit fixes)."""

import io
import math
import os
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import torch

from edgerec import artifact, cli, train
from edgerec.config import ParityConfig, load_config
from edgerec.data import load_dataset, split
from edgerec.evaluate import evaluate_torch
from edgerec.parity import ndcg10_gate
from edgerec.warmstart import ppmi_svd_embeddings
from tiny_data import write_tiny_shop

TINY = ["train.batch_size=32", "model.dim=8", "data.max_len=8", "data.min_token_count=1", "train.eval_batch_size=64"]


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def train_argv(tmp_path, *data):
    return ["train", *data, "--out", str(tmp_path / "out"), "--quiet", "--epochs", "1"] + [
        a for o in TINY for a in ("--set", o)
    ]


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return str(path)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("header_only.csv", "user_id,item_id,timestamp\n", "no usable events: the file has no data rows"),
        (
            "bad_ts.csv",
            "user_id,item_id,timestamp\n" + "u,i,yesterday\n" * 12,
            "no usable events: 0 of 12 rows had a parseable timestamp",
        ),
        (
            "like.csv",
            "user_id,item_id,timestamp,event\n" + "u,i,1,like\nu,j,2,like\nu,k,3,like\n",
            "0 of 3 events have a known event type",
        ),
        ("no_user.csv", "item_id,timestamp\ni,1\n", "no 'user_id' column"),
        ("empty.csv", "", "the file is empty"),
        ("events.txt", "user_id,item_id\n", "unsupported file type '.txt'"),
        ("notjson.jsonl", "this is not json\nnor this\n", "none of its 2 lines is a JSON object"),
        ("garbage.parquet", "not a parquet file", "not a Parquet file"),
    ],
)
def test_train_refuses_unusable_events_with_one_line_and_exit_2(tmp_path, name, content, message):
    events = write(tmp_path / name, content)
    code, out, err = run_cli(train_argv(tmp_path, "--events", events))
    assert code == 2
    assert err.strip() == err.strip().splitlines()[0]  # one line, no traceback
    assert err.startswith(f"edgerec train: error: events file {events}: ") and message in err
    assert not (tmp_path / "out").exists()  # failed before training: no artifact at all


def test_train_refuses_missing_and_invalid_research_inputs(tmp_path):
    code, _, err = run_cli(train_argv(tmp_path, "--events", str(tmp_path / "nope.csv")))
    assert (
        code == 2
        and err.strip() == f"edgerec train: error: events file {tmp_path / 'nope.csv'}: no such file or directory"
    )
    write(tmp_path / "y.inter", "item_id:token\ttimestamp:float\na\t1\n")
    code, _, err = run_cli(train_argv(tmp_path, "--recbole", str(tmp_path / "y")))
    assert code == 2 and "RecBole file" in err and "no 'user_id' column" in err and "Traceback" not in err
    write(tmp_path / "x.inter", "")
    code, _, err = run_cli(train_argv(tmp_path, "--recbole", str(tmp_path / "x")))
    assert code == 2 and "the file is empty" in err
    events, _ = write_tiny_shop(tmp_path / "shop", users=5, items=8)
    code, _, err = run_cli(train_argv(tmp_path, "--events", str(events), "--items", write(tmp_path / "items.csv", "")))
    assert code == 2 and err.startswith(f"edgerec train: error: items file {tmp_path / 'items.csv'}: the file is empty")


def test_a_data_warning_is_one_line_before_the_error(tmp_path):
    # no timestamp column (a warning), and no user with 3 events (the error)
    events = write(tmp_path / "e.csv", "user_id,item_id\na,1\na,2\nb,1\n")
    code, _, err = run_cli(train_argv(tmp_path, "--events", events))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith(f"edgerec train: warning: events file {events}: no 'timestamp' column")
    assert lines[1].startswith("edgerec train: error: ") and "no user has the 3 events leave-one-out needs" in lines[1]


def test_the_manifest_never_holds_nan_or_infinity(tmp_path):
    metrics = {"fp32": {"ndcg@10": float("nan")}, "int8": {"ndcg@10": 0.1}, "valid": {}}
    with pytest.raises(ValueError, match=r"non-finite numbers: metrics\.fp32\.ndcg@10 = nan"):
        artifact.write(tmp_path, None, None, {}, metrics, {"ndcg10RelativeDrop": float("inf")}, {"seconds": 1.0})
    assert not list(tmp_path.iterdir())  # refused before writing anything
    assert artifact.non_finite({"a": [1.0, {"b": float("-inf")}], "c": 2}) == ["a[1].b = -inf"]


def three_events_each(tmp_path, users=30, items=12):
    rows = [f"u{u},i{(u * 5 + k) % items},{1700000000 + 60 * k}" for u in range(users) for k in range(3)]
    return write(tmp_path / "three.csv", "user_id,item_id,timestamp\n" + "\n".join(rows) + "\n")


def test_every_user_with_exactly_3_events_trains_without_nan(tmp_path, capsys):
    cfg = load_config(None, TINY + ["train.epochs=1"])
    ds = load_dataset(cfg.data, events=three_events_each(tmp_path))
    assert ppmi_svd_embeddings(ds, 8) is None  # no training pair: nothing to learn co-occurrence from
    res = train.run(cfg, ds, tmp_path / "report")
    assert "item ids keep their random init" in capsys.readouterr().out
    assert torch.isfinite(res.model.items.id_emb.weight).all()
    m = evaluate_torch(res.model, ds, split(ds, "test", cfg.data.max_len)).metrics
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in m.values()), m


def test_warm_start_still_learns_when_there_are_pairs(tmp_path):
    events, items = write_tiny_shop(tmp_path, users=20, items=12)
    cfg = load_config(None, TINY)
    emb = ppmi_svd_embeddings(load_dataset(cfg.data, events=events, items=items), 8)
    assert emb is not None and torch.isfinite(emb).all() and emb.abs().sum() > 0


def ranks_with(n, changed, rng):
    """fp32 ranks of `n` users (about 10% in the top 10) and int8 ranks equal but for `changed`
    users whose top-10 target moved one rank down."""
    fp32 = np.where(rng.random(n) < 0.1, rng.integers(0, 10, n), rng.integers(10, 500, n))
    int8 = fp32.copy()
    hits = np.flatnonzero(fp32 < 9)
    int8[hits[:changed]] += 1
    return fp32, int8


def gate(cfg, fp32, int8):
    ndcg = lambda r: float(np.where(r < 10, 1 / np.log2(r + 2.0), 0).mean())
    f, i = ndcg(fp32), ndcg(int8)
    return (f - i) / f, ndcg10_gate(cfg, f, i, fp32, int8)


def test_parity_gate_fails_only_on_significant_ndcg_drops():
    rng = np.random.default_rng(0)
    cfg = ParityConfig()
    # 200 test users, 2 of them one rank lower: > 1% relative, but within the noise of 200 users
    small = ranks_with(200, 2, rng)
    rel, (failures, warnings) = gate(cfg, *small)
    assert rel > cfg.max_ndcg10_relative_drop and not failures
    assert len(warnings) == 1 and "within the test set's noise" in warnings[0] and "standard error" in warnings[0]
    # the same 1-rank slip for a third of the hits of 20,000 users: beyond the noise, fails
    rel, (failures, warnings) = gate(cfg, *ranks_with(20_000, 600, rng))
    assert rel > cfg.max_ndcg10_relative_drop and len(failures) == 1 and not warnings
    assert "beyond the test set's noise" in failures[0] and "20000 test users" in failures[0]
    # within the tolerance: silent; without the significance test: the plain 1% rule
    assert gate(cfg, *ranks_with(200, 0, rng))[1] == ([], [])
    assert gate(ParityConfig(ndcg10_drop_std_errors=0), *small)[1][0]
    # never looser than the plain 1% rule where the test set resolves 1%: on 50,000 users, every drop
    # just past 1% fails, whatever its significance
    fp32, _ = ranks_with(50_000, 0, rng)
    for changed in range(0, 1500, 25):
        int8 = fp32.copy()
        int8[np.flatnonzero(fp32 < 9)[:changed]] += 1
        rel, (failures, _) = gate(cfg, fp32, int8)
        _, (plain, _) = gate(ParityConfig(ndcg10_drop_std_errors=0), fp32, int8)
        assert bool(failures) == bool(plain) == (rel > cfg.max_ndcg10_relative_drop), (changed, rel)
    # a NaN metric always fails
    assert gate(cfg, np.array([0, 1]), np.array([0, 1]))[1] == ([], [])
    assert ndcg10_gate(cfg, 0.5, float("nan"), np.array([0, 1]), np.array([0, 1]))[0]


def test_default_threads_do_not_follow_the_machine_load(tmp_path, monkeypatch):
    load = iter([0.0, 50.0] * 10)
    monkeypatch.setattr(os, "getloadavg", lambda: (next(load), 0.0, 0.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(train, "available_cpus", lambda: 2, raising=False)
    before = torch.get_num_threads()
    try:
        assert {train.cpu_threads(0) for _ in range(4)} == {2}  # 2 cores: 2 threads, whatever the load
        monkeypatch.setattr(train, "available_cpus", lambda: 16)
        assert train.cpu_threads(0) == 4 and train.cpu_threads(3) == 3
        monkeypatch.setattr(train, "available_cpus", lambda: 2)
        events, items = write_tiny_shop(tmp_path, users=12, items=8)
        cfg = load_config(None, TINY + ["train.epochs=3"])
        res = train.run(cfg, load_dataset(cfg.data, events=events, items=items), quiet=True)
        assert [e["threads"] for e in res.history] == [2, 2, 2]
    finally:
        torch.set_num_threads(before)


def test_available_cpus_is_at_least_one():
    assert train.available_cpus() >= 1 and 1 <= train.cpu_threads(0) <= 4
