"""A tiny end-to-end run: train 2 epochs on a synthetic shop, export, quantize, check parity, write
the artifact, then read it back the way the Worker does."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from edgerec import cli, pipeline
from edgerec.artifact import sha256_file, verify
from edgerec.config import load_config
from edgerec.data import load_dataset
from edgerec.evaluate import int8_scores
from edgerec import reference
from edgerec.model import load_checkpoint
from edgerec.text import Vocab
from tiny_data import write_tiny_shop

OVERRIDES = ["train.epochs=2", "train.batch_size=32", "model.dim=16", "data.max_len=8", "data.min_token_count=1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    events, items = write_tiny_shop(root / "data")
    cfg = load_config(None, OVERRIDES)
    ds = load_dataset(cfg.data, events=events, items=items)
    res = pipeline.run(cfg, ds, root / "artifact", quiet=True)
    return {"dir": root / "artifact", "data": root / "data", "result": res, "ds": ds, "cfg": cfg}


def test_artifact_manifest_validates_and_checksums_match(tiny):
    m = verify(tiny["dir"])  # structure, sizes, sha256 of every file, version suffix
    for role, f in m["files"].items():
        assert sha256_file(tiny["dir"] / f["path"]) == f["sha256"], role
    assert m["items"] == 40 and m["dim"] == 16 and m["maxLen"] == 8
    assert m["categories"] == ["Fragrance", "Hair Care", "Makeup", "Skin Care"]
    assert m["training"]["epochs"] == 2 and m["training"]["device"] == "cpu"
    assert 0 < m["metrics"]["int8"]["hr@20"] <= 1 and 0 < m["metrics"]["fp32"]["ndcg@10"] <= 1
    assert m["config"]["model"]["dim"] == 16
    items = json.loads((tiny["dir"] / "items.json").read_text())
    assert items["ids"][:2] == ["sku-000", "sku-001"] and items["prices"][0] == 5.5
    popular = json.loads((tiny["dir"] / "popular.json").read_text())
    counts = [p["count"] for p in popular["popular"]]
    assert counts == sorted(counts, reverse=True) and popular["trending"]


def test_item_tables_follow_the_quantization_formula(tiny):
    m = json.loads((tiny["dir"] / "manifest.json").read_text())
    q = np.fromfile(tiny["dir"] / "item_emb.int8.bin", dtype=np.int8).reshape(m["items"], m["dim"])
    scale = np.fromfile(tiny["dir"] / "item_scale.f32.bin", dtype="<f4")
    model = tiny["result"].train.model
    with torch.no_grad():
        e = model.item_table()[1:].numpy()
    np.testing.assert_allclose(scale, np.abs(e).max(1) / 127, rtol=1e-6)
    assert np.abs(q).max() == 127
    np.testing.assert_allclose(q * scale[:, None], e, atol=float(scale.max()) / 2 + 1e-7)


def test_items_bin_holds_items_json(tiny):
    """items.bin (the Worker catalog's layout) decodes to exactly items.json."""
    from edgerec.artifact import ITEMS_FORMAT
    from edgerec.tower import read_tower

    m = json.loads((tiny["dir"] / "manifest.json").read_text())
    items = json.loads((tiny["dir"] / "items.json").read_text())
    header, t = read_tower(tiny["dir"] / m["files"]["itemsColumnar"]["path"], ITEMS_FORMAT)
    assert header["rows"] == len(items["ids"]) == m["items"]
    raw, off = t["ids.bytes"].tobytes(), t["ids.offsets"]
    assert [raw[off[r] : off[r + 1]].decode() for r in range(header["rows"])] == items["ids"]
    assert [items["ids"][r] for r in t["ids.order"]] == sorted(items["ids"])  # the Worker's binary search
    paths = [list(header["paths"][c - 1]) if c else [] for c in t["paths.codes"]]
    assert paths == [list(c) for c in items["categories"]]
    assert [header["prices"][c - 1] if c else None for c in t["prices.codes"]] == items["prices"]
    assert [header["brands"][c - 1] if c else None for c in t["brands.codes"]] == items["brands"]


def test_onnx_models_have_the_contract_signature_and_int8_ops(tiny):
    m = json.loads((tiny["dir"] / "manifest.json").read_text())
    for role in ("userEncoder", "textEncoder", "ranker"):
        path = tiny["dir"] / m["files"][role]["path"]
        model = onnx.load(str(path))
        assert model.opset_import[0].version == 17
        ops = [n.op_type for n in model.graph.node]
        int8 = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
        if role in ("userEncoder", "textEncoder"):  # weight-only: int8 weights times scales, fp32 activations
            want = 4 * m["config"]["model"]["layers"] if role == "userEncoder" else 3  # text: token table + 2 Linears
            assert len(int8) == want and all(len(i.dims) == 2 for i in int8)
            assert not {"MatMulInteger", "DynamicQuantizeLinear", "DequantizeLinear"} & set(ops)
        else:
            assert {"MatMulInteger", "DynamicQuantizeLinear"} <= set(ops), role
        sess = ort.InferenceSession(str(path))
        spec = m["tensors"][role]
        assert [i.name for i in sess.get_inputs()] == list(spec["inputs"])
        assert [o.name for o in sess.get_outputs()] == list(spec["outputs"])


@pytest.fixture(scope="module")
def tiny_fixed(tmp_path_factory, tiny):
    cfg = load_config(None, OVERRIDES + ["model.dynamic_length=false"])
    out = tmp_path_factory.mktemp("tiny_fixed") / "artifact"
    pipeline.run(cfg, tiny["ds"], out, quiet=True)
    return out


def test_user_encoder_takes_any_history_length(tiny_fixed, tiny):
    """model.dynamic_length (the default): 3 events on 3 slots give the padded run's outputs; the
    reference feeds only as many slots as the history has. model.dynamic_length=false fixes L = maxLen."""
    m = json.loads((tiny_fixed / "manifest.json").read_text())
    assert m["tensors"]["userEncoder"]["inputs"]["hist_emb"]["shape"][1] == m["maxLen"]
    m = json.loads((tiny["dir"] / "manifest.json").read_text())
    assert m["tensors"]["userEncoder"]["inputs"]["hist_emb"]["shape"][1] == "L"
    L, D = m["maxLen"], m["dim"]
    rng = np.random.default_rng(0)
    emb = (rng.normal(size=(2, 3, D)) * 0.1).astype(np.float32)
    ev = rng.integers(1, 5, (2, 3)).astype(np.int64)
    age = rng.random((2, 3)).astype(np.float32)
    padded = [np.zeros((2, L) + x.shape[2:], x.dtype) for x in (emb, ev, age)]
    for p_, x in zip(padded, (emb, ev, age)):
        p_[:, -3:] = x
    fp32 = ort.InferenceSession(str(tiny["dir"] / m["files"]["userEncoderFp32"]["path"]))
    names = [i.name for i in fp32.get_inputs()]
    feeds = lambda xs: {n: x for n, x in zip(("hist_emb", "hist_event", "hist_age"), xs) if n in names}
    short, full = fp32.run(None, feeds((emb, ev, age))), fp32.run(None, feeds(padded))
    np.testing.assert_allclose(short[0], full[0], atol=1e-5)  # user_emb
    np.testing.assert_allclose(short[1], full[1], atol=1e-5)  # interests
    np.testing.assert_allclose(short[2], full[2][:, -3:], atol=1e-5)  # attention over the real slots
    int8 = ort.InferenceSession(str(tiny["dir"] / m["files"]["userEncoder"]["path"]))
    a, b = int8.run(["user_emb"], feeds((emb, ev, age)))[0], int8.run(["user_emb"], feeds(padded))[0]
    np.testing.assert_allclose(a, b, atol=1e-5)  # weight-only int8: padding cannot move the answer
    ids = json.loads((tiny["dir"] / "items.json").read_text())["ids"]
    got = reference.recommend(
        reference.load_artifact(tiny["dir"]), [{"itemId": ids[0], "event": "view"}, {"itemId": ids[1]}], k=3
    )
    assert len(got["attention"]) == 2 and len(got["items"]) == 3  # two slots, not maxLen


def test_parity_of_the_tiny_model(tiny):
    rep = tiny["result"].parity
    assert rep.max_abs_user_emb_diff_fp32 < 1e-4  # torch vs ONNX fp32 on identical inputs
    assert rep.max_abs_attention_diff_fp32 < 1e-4 and rep.max_abs_text_emb_diff_fp32 < 1e-4
    assert rep.max_abs_user_emb_diff_int8 < 0.1  # int8 weights, float32 activations
    assert rep.max_abs_user_tower_diff < 1e-4  # user_tower.bin computes what the int8 ONNX computes
    assert 0 < rep.max_abs_text_tower_diff < 1e-4  # so does text_tower.bin (0 would mean unchecked)
    assert rep.passed, rep.failures
    assert tiny["result"].manifest["parity"]["passed"] is True


def test_checkpoint_carries_its_config(tiny):
    model, ck = load_checkpoint(tiny["dir"] / "report" / "checkpoint.pt")
    assert model.cfg == tiny["cfg"] and ck["epoch"] == tiny["result"].train.best_epoch
    assert (tiny["dir"] / "report" / "training_curve.png").stat().st_size > 0


def test_text_encoder_embeds_queries_in_item_space(tiny):
    m = json.loads((tiny["dir"] / "manifest.json").read_text())
    vocab = Vocab.load(tiny["dir"] / "vocab.json")
    sess = ort.InferenceSession(str(tiny["dir"] / m["files"]["textEncoder"]["path"]))
    tokens = np.concatenate([vocab.encode_text("shampoo"), np.zeros((1, vocab.max_tokens), np.int64)])
    emb = sess.run(["text_emb"], {"tokens": tokens})[0]
    assert emb.shape == (2, 16) and np.abs(emb[1]).max() == 0  # no tokens -> zero vector
    with torch.no_grad():
        ref = tiny["result"].train.model.items.text(torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(emb, ref, atol=0.05)


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_reference_command_is_the_int8_served_path(tiny):
    d = tiny["dir"]
    history = [
        {"itemId": "sku-001", "event": "view"},
        {"itemId": "unknown"},
        {"itemId": "sku-005", "event": "cart", "ageHours": 2},
    ]
    code, out, _ = run_cli(["reference", "--artifact", str(d), "--history", json.dumps(history), "--k", "5"])
    assert code == 0
    got = json.loads(out)
    m = json.loads((d / "manifest.json").read_text())
    assert got["version"] == m["version"] and len(got["items"]) == 5
    # recompute independently from the files
    q = np.fromfile(d / "item_emb.int8.bin", dtype=np.int8).reshape(m["items"], m["dim"])
    scale = np.fromfile(d / "item_scale.f32.bin", dtype="<f4")
    ids = json.loads((d / "items.json").read_text())["ids"]
    # the served path feeds as many slots as the history has when the encoder's history axis is free
    free = m["tensors"]["userEncoder"]["inputs"]["hist_emb"]["shape"][1] == "L"
    L, D = (2 if free else m["maxLen"]), m["dim"]
    emb, ev, age = np.zeros((1, L, D), np.float32), np.zeros((1, L), np.int64), np.zeros((1, L), np.float32)
    for slot, (iid, e, a) in zip((L - 2, L - 1), (("sku-001", "view", 0.0), ("sku-005", "cart", np.log1p(2.0)))):
        r = ids.index(iid)
        emb[0, slot] = q[r] * scale[r]
        ev[0, slot] = m["eventTypes"].index(e)
        age[0, slot] = a
    u = ort.InferenceSession(str(d / "user_encoder.int8.onnx")).run(
        ["user_emb"], {"hist_emb": emb, "hist_event": ev, "hist_age": age}
    )[0]
    scores = int8_scores(u, q, scale)[0]
    scores[[ids.index("sku-001"), ids.index("sku-005")]] = -np.inf
    best = np.argsort(-scores, kind="stable")[:5]
    assert [x["itemId"] for x in got["items"]] == [ids[r] for r in best]
    np.testing.assert_allclose([x["score"] for x in got["items"]], scores[best], rtol=1e-9)
    assert abs(sum(got["interests"].values()) - 1) < 1e-5
    attn = np.array(got["attention"])
    assert attn.shape == (L,) and attn[: L - 2].sum() < 1e-6 and abs(attn.sum() - 1) < 1e-5


def test_train_command_fails_loudly_when_parity_fails(tiny, tmp_path):
    data = tiny["data"]
    argv = [
        "train",
        "--events",
        str(data / "events.csv"),
        "--items",
        str(data / "items.csv"),
        "--out",
        str(tmp_path / "a"),
        "--quiet",
        "--epochs",
        "1",
    ] + [a for o in OVERRIDES[1:] for a in ("--set", o)]
    code, out, err = run_cli(argv + ["--set", "parity.min_top10_agreement=1.01"])
    assert code == 1
    assert "PARITY CHECK FAILED" in err and "top-10 agreement" in err
    assert "| int8 |" in out
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["parity"]["passed"] is False


def test_baselines_table(tiny, capsys):
    data = tiny["data"]
    argv = ["baselines", "--events", str(data / "events.csv"), "--items", str(data / "items.csv"), "--epochs", "1"]
    argv += [a for o in OVERRIDES[1:] for a in ("--set", o)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    for name in ("popularity", "item-to-item co-occurrence", "SASRec-CE (ids only)"):
        assert f"| {name} |" in out


def test_train_from_checkpoint_rebuilds_the_same_artifact(tiny, tmp_path):
    """`train --from-checkpoint`: no training, the same model exported, evaluated and checked again."""
    out = tmp_path / "again"
    args = [
        "train",
        "--events",
        str(tiny["data"] / "events.csv"),
        "--items",
        str(tiny["data"] / "items.csv"),
        "--out",
        str(out),
        "--quiet",
        "--from-checkpoint",
        str(tiny["dir"] / "report" / "checkpoint.pt"),
    ]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert cli.main(args) == 0
    a = json.loads((tiny["dir"] / "manifest.json").read_text())
    b = json.loads((out / "manifest.json").read_text())
    assert b["metrics"]["int8"] == a["metrics"]["int8"] and b["metrics"]["fp32"] == a["metrics"]["fp32"]
    for role in ("itemEmbeddings", "userTower", "textTower"):
        assert b["files"][role]["sha256"] == a["files"][role]["sha256"], role
    assert b["training"]["bestEpoch"] == a["training"]["bestEpoch"]
    events, items = write_tiny_shop(tmp_path / "other-data", items=30)
    args[2], args[4] = str(events), str(items)
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        assert cli.main(args) == 2  # a checkpoint meets data it was not trained on: refused
    assert "was trained on 40 items" in err.getvalue()


def test_kernel_files_follow_the_model_options(tiny, tmp_path):
    """Without event types and recency, with a head size of 9: user_tower.bin says so and still
    computes what the int8 ONNX computes (the parity step checks it on test users)."""
    from edgerec.tower import read_tower

    cfg = load_config(
        None, OVERRIDES + ["model.dim=18", "model.heads=2", "model.use_events=false", "model.use_recency=false"]
    )
    res = pipeline.run(cfg, tiny["ds"], tmp_path / "a", quiet=True)
    header, _ = read_tower(tmp_path / "a" / "user_tower.bin")
    assert (header["dim"], header["heads"], header["events"], header["recency"]) == (18, 2, False, False)
    assert 0 < res.parity.max_abs_user_tower_diff < 1e-4 and 0 < res.parity.max_abs_text_tower_diff < 1e-4
    assert res.parity.passed, res.parity.failures
