"""The report (edgerec.report) on a tiny artifact trained here, and the cold-start split of
edgerec.experiments."""

import argparse
import json
import math
import shutil

import numpy as np
import pytest

from edgerec import pipeline, report
from edgerec.config import load_config
from edgerec.data import SplitArrays, load_dataset
from edgerec.experiments import ablation_variants, coldstart_keep, pick_withheld, write_coldstart_data
from tiny_data import write_tiny_shop

OVERRIDES = ["train.epochs=1", "train.batch_size=32", "model.dim=16", "data.max_len=8", "data.min_token_count=1"]
SECTIONS = ("Training", "Results", "Item embeddings", "What the model relies on", "Text vs item embedding")
PNGS = ("training.png", "item_embeddings_pca.png", "reliance_ndcg10.png", "text_vs_item.png")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    events, items = write_tiny_shop(root / "data")
    cfg = load_config(None, OVERRIDES)
    ds = load_dataset(cfg.data, events=events, items=items)
    return {"root": root, "events": events, "items": items, "cfg": cfg, "ds": ds}


@pytest.fixture(scope="module")
def tiny(shop):
    root = shop["root"]
    pipeline.run(shop["cfg"], shop["ds"], root / "artifact", quiet=True)
    return {**shop, "html": report.run(root / "artifact", shop["ds"], root / "out")}


def test_report_writes_html_and_pngs_with_every_section(tiny):
    out = tiny["root"] / "out"
    text = tiny["html"].read_text()
    assert tiny["html"] == out / "report.html"
    for section in SECTIONS:
        assert f">{section}</h" in text, section
    for png in PNGS:
        assert (out / png).stat().st_size > 1000, png
    assert text.count("data:image/png;base64,") == len(PNGS)  # self-contained
    assert "popularity (computed here)" in text and "edgerec int8 (served)" in text
    assert "Published full-ranking numbers" not in text  # not Beauty


def test_attribution_numbers_are_finite_and_intact_matches_the_manifest(tiny):
    summary = json.loads((tiny["root"] / "out" / "report.json").read_text())
    manifest = json.loads((tiny["root"] / "artifact" / "manifest.json").read_text())
    rows = summary["reliance"]
    assert [r["group"] for r in rows][:4] == ["intact", "drop history", "drop history", "drop history"]
    assert rows[-1]["variant"] == "recency zeroed"
    for r in rows:
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in r["metrics"].values()), r["variant"]
    # the unperturbed served path is exactly the manifest's int8 evaluation
    for k, v in manifest["metrics"]["int8"].items():
        assert rows[0]["metrics"][k] == pytest.approx(v, abs=1e-9), k
    cos = summary["textCosine"]["all items"]
    assert cos["count"] == 40 and math.isfinite(cos["mean"]) and -1 <= cos["mean"] <= 1
    assert all(math.isfinite(x) for x in summary["pcaExplained"])


def test_drop_positions_removes_by_recency_and_keeps_the_rest_left_padded():
    arrays = SplitArrays(
        users=np.array([0, 1]),
        hist_items=np.array([[0, 5, 6, 7, 8, 9, 10, 11], [0, 0, 0, 0, 0, 0, 3, 4]]),
        hist_events=np.array([[0, 1, 1, 2, 2, 3, 3, 4], [0, 0, 0, 0, 0, 0, 1, 2]]),
        hist_age=np.arange(16, dtype=np.float32).reshape(2, 8),
        targets=np.array([1, 2]),
        target_events=np.array([1, 1]),
        history_end=np.array([8, 3]),
    )
    last = report.drop_positions(arrays, 0, 1)
    assert last.hist_items.tolist() == [[0, 0, 5, 6, 7, 8, 9, 10], [0, 0, 0, 0, 0, 0, 0, 3]]
    assert last.hist_age[1].tolist() == [0, 0, 0, 0, 0, 0, 0, 14]
    middle = report.drop_positions(arrays, 1, 5)
    assert middle.hist_items.tolist() == [[0, 0, 0, 0, 0, 5, 6, 11], [0, 0, 0, 0, 0, 0, 0, 4]]
    assert middle.hist_events.tolist()[0] == [0, 0, 0, 0, 0, 1, 1, 4]
    older = report.drop_positions(arrays, 5, 10**9)
    assert older.hist_items.tolist() == [[0, 0, 0, 7, 8, 9, 10, 11], [0, 0, 0, 0, 0, 0, 3, 4]]
    assert report.replace_events(arrays, 4).hist_events.tolist()[1] == [0, 0, 0, 0, 0, 0, 4, 4]


def test_published_beauty_numbers_appear_for_a_beauty_artifact(tiny, tmp_path):
    art = tmp_path / "artifact"
    shutil.copytree(tiny["root"] / "artifact", art)
    m = json.loads((art / "manifest.json").read_text())
    m["dataset"]["name"] = "beauty"
    (art / "manifest.json").write_text(json.dumps(m))
    text = report.run(art, None, tmp_path / "out").read_text()
    assert "Published full-ranking numbers" in text and "SASRec with sampled softmax" in text and "0.0531" in text
    assert "perturbations skipped" in text  # no data given


def test_coldstart_split_withholds_exactly_the_chosen_items_and_keeps_them_in_the_catalog(shop, tmp_path):
    ds, cfg = shop["ds"], shop["cfg"]
    withheld = pick_withheld(ds, 0.1, seed=3)
    assert len(withheld) == 4 and len(set(withheld)) == 4
    keep = coldstart_keep(ds, withheld)
    args = argparse.Namespace(beauty=None, recbole=None, items=str(shop["items"]))
    flags = write_coldstart_data(ds, keep, tmp_path / "data", args)
    cold = load_dataset(cfg.data, events=flags[1], items=flags[3])

    assert cold.item_ids == ds.item_ids  # whole catalog, same order, titles kept
    idx = [cold.item_ids.index(i) + 1 for i in withheld]
    assert all(cold.titles[i - 1] for i in idx)
    assert cold.train_counts[idx].tolist() == [0] * len(idx)
    # no withheld item anywhere but as a user's last event (the test target)
    for u in range(cold.num_users):
        seq = cold.items[cold.offsets[u] : cold.offsets[u + 1]]
        assert not np.isin(seq[:-1], idx).any()
    # every other item keeps all of its events, except those of users the cleaning drops (too few left)
    user_of = np.repeat(np.arange(ds.num_users), ds.lengths())
    survives = np.bincount(user_of[keep], minlength=ds.num_users) >= cfg.data.min_user_events
    expected = np.bincount(ds.items[keep & survives[user_of]], minlength=ds.num_items + 1)
    after = np.bincount(cold.items, minlength=cold.num_items + 1)
    assert (after == expected).all()
    assert cold.num_users == int(survives.sum())


def test_ablation_variants_are_config_overrides_the_trainer_accepts(shop):
    variants = ablation_variants(shop["cfg"])
    assert set(variants) == {"full", "no-text", "no-aux", "id-only", "sasrec-ce"}
    for name, sets in variants.items():
        cfg = shop["cfg"].with_overrides(sets)
        if name != "full":
            assert cfg != shop["cfg"]
    id_only = shop["cfg"].with_overrides(variants["id-only"])
    assert not id_only.model.use_text and id_only.model.use_events and id_only.train.w_rank == 0
    sasrec = shop["cfg"].with_overrides(variants["sasrec-ce"])
    assert not sasrec.model.use_text and not sasrec.model.use_events and sasrec.model.id_init == "random"
