"""Config: defaults, YAML file, command-line overrides."""

import pytest

from edgerec.config import Config, load_config


def test_yaml_then_overrides(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("model:\n  dim: 32\ntrain:\n  lr: 0.002\n  epochs: 5\n")
    cfg = load_config(y, ["train.epochs=7", "model.use_text=false"])
    assert cfg.model.dim == 32 and cfg.train.lr == 0.002 and cfg.train.epochs == 7
    assert cfg.model.use_text is False
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_unknown_keys_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(None, ["train.learning_rate=1"])
    with pytest.raises(ValueError, match="unknown config section"):
        load_config(None, ["optim.lr=1"])
