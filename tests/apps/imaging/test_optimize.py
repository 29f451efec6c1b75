"""``lepton imaging optimize`` on a tiny trained model: every method registers a version that the
ordinary predictor and the HTTP service answer with."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from lepton_shared.errors import UserError

METHODS = ("int8", "prune", "onnx", "onnx-int8", "bf16")
KEYS = {"method", "from_version", "version", "promoted", "reason", "size_bytes", "p50_ms", "p99_ms",
        "throughput_per_s", "metric", "metric_value", "threads", "device"}
#: Largest difference of a positive-class probability from fp32's, per method (pruning changes the model).
TOLERANCE = {"onnx": 1e-4, "int8": 0.15, "onnx-int8": 0.15, "bf16": 0.05, "prune": 1.0}


@pytest.fixture(scope="module")
def optimised(trained_home: tuple[Path, Any]) -> Iterator[dict[str, dict[str, Any]]]:
    """The optimize result of each method, all from the tiny fp32 version, none promoted."""
    from apps.imaging.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize
    from lepton_shared.testing.optimize import quick_measurement

    _, info = trained_home
    with quick_measurement(OPTIMIZER_CLASS):
        yield {m: optimize("imaging", OPTIMIZER_CLASS, m, version=info.version, promote="never") for m in METHODS}


@pytest.fixture(scope="module")
def items(trained_home: tuple[Path, Any]) -> list[Any]:
    from apps.imaging.optimize import OPTIMIZER_CLASS

    return OPTIMIZER_CLASS(trained_home[1], None).sample_items(6)


def positive(predictor: Any, items: list[Any]) -> np.ndarray:
    return np.array([a["positive_probability"] for a in predictor.predict_batch(items)])


def test_every_method_registers_a_measured_version(optimised: dict[str, dict[str, Any]],
                                                   trained_home: tuple[Path, Any]) -> None:
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    source = trained_home[1]
    assert Registry().get("imaging").version == source.version  # --promote never
    for method, out in optimised.items():
        assert set(out) == KEYS and out["method"] == method and out["from_version"] == source.version
        assert out["metric"] == "roc_auc" and out["promoted"] is False and out["device"] == "cpu"
        info = Registry().get("imaging", out["version"])
        assert info.stage == "candidate"
        assert info.params["optimised_from"] == source.version and info.params["method"] == method
        assert info.metrics["roc_auc"] == pytest.approx(out["metric_value"]["after"], abs=1e-6)
        assert read_optimisation(info.path)["method"] == method  # type: ignore[index]
        assert (info.path / "imaging.json").exists()
    sizes = {m: out["size_bytes"]["after"] / out["size_bytes"]["before"] for m, out in optimised.items()}
    assert sizes["int8"] < 0.4 and sizes["onnx-int8"] < 0.4 and sizes["bf16"] < 0.6


def test_versions_answer_through_the_ordinary_predictor(optimised: dict[str, dict[str, Any]],
                                                         trained_home: tuple[Path, Any], items: list[Any]) -> None:
    from lepton_shared.app import get_app

    app = get_app("imaging")
    reference = positive(app.load_predictor(trained_home[1].version), items)
    for method, out in optimised.items():
        predictor = app.load_predictor(out["version"])
        answers = predictor.predict_batch(items)
        assert all(a["model_version"] == out["version"] for a in answers)
        assert all(abs(sum(a["probabilities"].values()) - 1) < 1e-4 for a in answers)
        assert np.abs(positive(predictor, items) - reference).max() <= TOLERANCE[method], method


def test_fp16_and_unknown_methods_refuse(trained_home: tuple[Path, Any]) -> None:
    import torch

    from apps.imaging.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            optimize("imaging", OPTIMIZER_CLASS, "fp16")
    with pytest.raises(UserError, match="unknown optimisation method"):
        optimize("imaging", OPTIMIZER_CLASS, "int4")


def test_an_int8_version_serves_predictions_and_heat_maps(optimised: dict[str, dict[str, Any]],
                                                          items: list[Any]) -> None:
    """Promoted, the int8 version answers /v1/predict; /v1/diagnose draws its heat map with the fp32 source."""
    from apps.imaging.app import APP
    from lepton_shared.registry import Registry
    from lepton_shared.testing.server import serve_app

    version = optimised["int8"]["version"]
    source = optimised["int8"]["from_version"]
    Registry().promote("imaging", version)
    try:
        with serve_app(APP.create_service()) as base:
            pred = httpx.post(f"{base}/v1/predict", json=items[0].model_dump(), timeout=60)
            assert pred.status_code == 200, pred.text
            assert pred.json()["model_version"] == version
            png = base64.b64decode(items[0].image_base64)
            diag = httpx.post(f"{base}/v1/diagnose", files={"file": ("a.png", png)}, timeout=60)
            assert diag.status_code == 200, diag.text
            body = diag.json()
            assert body["model_version"] == version and body["heatmap_png_base64"]
            assert body["probabilities"] == pred.json()["probabilities"]
    finally:
        Registry().promote("imaging", source)
