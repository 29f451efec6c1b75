"""Training on built-in data, the stored artifact, Grad-CAM and the audit rows."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from apps.imaging.config import ImagingTrainConfig
from apps.imaging.data import synth_image, write_dicom
from apps.imaging.explain import grad_cam, overlay_png
from apps.imaging.model import ModelConfig, build_network, to_tensor
from apps.imaging.training import train
from lepton_shared.errors import NotFoundError, UserError


def test_tiny_training_registers_a_calibrated_model(trained_home: tuple[Path, Any]) -> None:
    _, info = trained_home
    cfg = ModelConfig.load(info.path)
    assert cfg.class_names == ["normal", "opacity"]
    assert cfg.temperature > 0 and 0 < cfg.threshold <= 1
    assert (info.path / "model.pt").exists() and (info.path / "report.html").exists()
    html = (info.path / "report.html").read_text()
    assert "roc_auc" in html and "Reliability diagram" in html
    for key in ("roc_auc", "accuracy", "accuracy_at_threshold", "ece", "ece_uncalibrated",
                "sensitivity_at_threshold", "specificity_at_threshold", "train_images_per_s"):
        assert key in info.metrics, key


def test_builtin_data_is_learnable(tmp_path: Path) -> None:
    """Eight epochs on 160 synthetic images separate the classes well above chance.

    With the seed now fixing the initial weights too, four epochs gave 0.76 for seed 42 (random starts
    had given 0.76-0.85: the test was flaky); eight gave 0.84-0.875 for seeds 42, 1 and 2."""
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "home"):
        info = train(ImagingTrainConfig(builtin_images=160, epochs=8, promote="never"))
    assert info.stage == "candidate"
    assert info.metrics["roc_auc"] >= 0.8, info.metrics


def test_bad_train_options_are_user_errors(trained_home: tuple[Path, Any]) -> None:
    for config in (ImagingTrainConfig(target_sensitivity=1.5), ImagingTrainConfig(image_size=4),
                   ImagingTrainConfig(builtin_images=5), ImagingTrainConfig(arch="densenet121")):
        with pytest.raises(UserError):
            train(config)


def test_grad_cam_shape_and_range() -> None:
    torch.manual_seed(0)
    model = build_network("resnet18", quiet=True)
    x = to_tensor(synth_image(1, np.random.default_rng(0), 28)[None])
    heat = grad_cam(model, x, "layer4")
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0 and heat.max() > 0
    png = overlay_png(x[0, 0].numpy() * 0.5 + 0.5, heat, display=64)
    from PIL import Image

    img = Image.open(io.BytesIO(png))
    assert img.size == (64, 64) and img.mode == "RGB"


def test_diagnose_and_audit_rows(trained_home: tuple[Path, Any], tmp_path: Path) -> None:
    from apps.imaging.app import APP
    from apps.imaging.storage import get_study, list_studies, record_study, review_study

    predictor = APP.load_predictor()
    write_dicom(synth_image(1, np.random.default_rng(5), 48), tmp_path / "s.dcm", patient_id="PAT-7",
                study_uid="1.2.840.1")
    result = predictor.diagnose((tmp_path / "s.dcm").read_bytes(), "s.dcm")
    assert result["label"] in ("normal", "opacity")
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert base64.b64decode(result["heatmap_png_base64"])[:8] == b"\x89PNG\r\n\x1a\n"
    row = record_study(result)
    assert row["study_uid"] == "1.2.840.1" and row["review_status"] == "pending"
    assert row["patient_hash"] and "PAT-7" not in str(row)
    assert list_studies()[0]["id"] == row["id"]
    other = "normal" if result["label"] == "opacity" else "opacity"
    reviewed = review_study(row["id"], "Dr. Who", confirmed=False, label=other, note="missed")
    assert reviewed["review_status"] == "corrected" and reviewed["reviewed_label"] == other
    assert get_study(row["id"])["reviewer"] == "Dr. Who"
    assert [s["id"] for s in list_studies("corrected")] == [row["id"]]
    with pytest.raises(UserError):
        review_study(row["id"], "Dr. Who", confirmed=False, label="tumour")
    with pytest.raises(UserError):
        review_study(row["id"], "  ", confirmed=True)
    with pytest.raises(NotFoundError):
        get_study(99999)


def test_predictions_are_deterministic(trained_home: tuple[Path, Any]) -> None:
    from apps.imaging.app import APP

    predictor = APP.load_predictor()
    item = predictor.InputModel.model_validate(predictor.example_input())
    assert predictor.predict(item) == predictor.predict(item)
    bad = predictor.InputModel.model_validate({"image_base64": "%%%"})
    with pytest.raises(UserError, match="base64"):
        predictor.predict(bad)


def test_calibration_is_chosen_on_validation_images_only_and_the_predictor_applies_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A MedMNIST-layout file whose validation split is large enough for every calibrator (the isotonic minimum
    lowered to keep it small): the choice sees exactly the validation labels (never the test ones), and what it
    chose is what the predictor applies."""
    import json

    import apps.imaging.probability_calibration as calibration
    import apps.imaging.training as training
    from apps.imaging.app import APP
    from apps.imaging.model import predict_logits
    from lepton_shared.testing.env import lepton_env

    monkeypatch.setattr(calibration, "MIN_ISOTONIC", 40)
    rng = np.random.default_rng(0)
    sizes = {"train": 24, "val": 40, "test": 20}
    arrays: dict[str, np.ndarray] = {}
    for split, n in sizes.items():
        labels = np.arange(n) % 2
        arrays[f"{split}_images"] = np.stack([(synth_image(int(c), rng, 16) * 255).astype(np.uint8) for c in labels])
        arrays[f"{split}_labels"] = labels[:, None]
    data = tmp_path / "scans.npz"
    np.savez(data, **arrays)
    seen: list[np.ndarray] = []
    choose = training.choose_calibration

    def spy(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> Any:
        seen.append(np.asarray(labels).copy())
        return choose(logits, labels, seed)

    monkeypatch.setattr(training, "choose_calibration", spy)
    with lepton_env(tmp_path / "home"):
        info = train(ImagingTrainConfig(data=data, image_size=16, epochs=1, batch_size=12, no_augment=True,
                                        promote="always"))
        assert len(seen) == 1 and np.array_equal(seen[0], arrays["val_labels"][:, 0])
        stored = json.loads((info.path / "imaging.json").read_text())["calibration"]
        assert stored["method"] == info.metrics["calibration_method"]
        assert set(info.metrics["calibration_cv_ece"]) == {"temperature", "platt", "isotonic"}
        low, high = info.metrics["ece_ci95"]
        assert low <= info.metrics["ece"] <= high
        assert info.metrics["reliability"]["calibrated"]["predicted"]
        predictor = APP.load_predictor()
        images = arrays["test_images"][:8].astype(np.float32) / 255
        expected = predictor.cfg.calibrator().proba(predict_logits(predictor.model, images))
        np.testing.assert_allclose(predictor.probabilities(images), expected, atol=1e-5)
