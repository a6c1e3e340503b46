"""The committed default artifact (models/default) is complete and its Worker parity fixture is current."""

import hashlib
import json
from pathlib import Path

import pytest

from edgerec.default_reference import reference_cases

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "models" / "default"


def test_every_file_named_by_the_manifest_matches_its_checksum():
    manifest = json.loads((DEFAULT / "manifest.json").read_text())
    assert manifest["format"] == "edgerec-artifact/1"
    for name, entry in manifest["files"].items():
        data = (DEFAULT / entry["path"]).read_bytes()
        assert len(data) == entry["bytes"], name
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    assert manifest["files"]["itemEmbeddings"]["bytes"] == manifest["items"] * manifest["dim"]
    for key in ("hr@10", "ndcg@10", "mrr"):
        assert key in manifest["metrics"]["int8"] and key in manifest["metrics"]["fp32"]


def test_default_artifact_stays_small():
    total = sum(p.stat().st_size for p in DEFAULT.rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024, f"models/default is {total} bytes"


def test_worker_parity_fixture_matches_the_committed_artifact():
    fixture = json.loads((ROOT / "test" / "fixtures" / "reference.json").read_text())
    fresh = reference_cases(DEFAULT)
    assert fixture["version"] == fresh["version"]
    for want, got in zip(fixture["cases"], fresh["cases"]):
        assert [x["itemId"] for x in got["items"]] == [x["itemId"] for x in want["items"]]
        for a, b in zip(got["items"], want["items"]):
            assert a["score"] == pytest.approx(b["score"], rel=1e-5, abs=1e-6)
