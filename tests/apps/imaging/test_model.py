"""The networks, and their artifact: saved weights and configuration load back unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from apps.imaging.data import synth_image
from apps.imaging.model import ModelConfig, build_network, load_model, predict_logits, save_model
from apps.imaging.probability_calibration import softmax
from lepton_shared.errors import NotFoundError, UserError


def test_densenet_option_builds() -> None:
    model = build_network("densenet121")
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 2)
    with pytest.raises(UserError):
        build_network("vgg")


def test_saved_model_loads_back_with_the_same_answers(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_network("resnet18", quiet=True).eval()
    cfg = ModelConfig(class_names=["normal", "opacity"], temperature=1.7, threshold=0.3)
    save_model(tmp_path, model, cfg)
    loaded, loaded_cfg = load_model(tmp_path, "cpu")
    assert loaded_cfg == cfg
    images = np.stack([synth_image(label, np.random.default_rng(label), 28) for label in (0, 1)])
    assert np.allclose(predict_logits(loaded, images), predict_logits(model, images), atol=1e-6)
    with pytest.raises(NotFoundError):
        load_model(tmp_path / "missing", "cpu")


def test_config_keeps_its_calibrator_and_reads_versions_saved_before_it(tmp_path: Path) -> None:
    import json

    logits = np.array([[0.0, -2.0], [0.0, 0.5], [1.0, 3.0]])
    cfg = ModelConfig(temperature=1.7, calibration={"method": "platt", "a": 0.8, "b": -1.2})
    cfg.save(tmp_path)
    loaded = ModelConfig.load(tmp_path)
    assert loaded == cfg and loaded.calibrator().method == "platt"
    expected = 1 / (1 + np.exp(-(0.8 * (logits[:, 1] - logits[:, 0]) - 1.2)))
    np.testing.assert_allclose(loaded.calibrator().proba(logits)[:, 1], expected)
    stored = json.loads((tmp_path / "imaging.json").read_text())
    del stored["calibration"]  # as written before the calibrator was stored: temperature scaling
    (tmp_path / "imaging.json").write_text(json.dumps(stored))
    old = ModelConfig.load(tmp_path).calibrator()
    assert old.method == "temperature"
    np.testing.assert_allclose(old.proba(logits), softmax(logits, 1.7))
