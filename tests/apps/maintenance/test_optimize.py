"""``lepton maintenance optimize`` on a tiny trained model: every method registers a version whose RUL nets
the ordinary predictor, ``evaluate`` and the HTTP service load transparently."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from lepton_shared.errors import UserError

METHODS = ("int8", "prune", "onnx", "onnx-int8", "bf16")
KEYS = {"method", "from_version", "version", "promoted", "reason", "size_bytes", "p50_ms", "p99_ms",
        "throughput_per_s", "metric", "metric_value", "threads", "device"}
#: Largest difference of an RUL estimate (cycles, cap 125) from fp32's, per method (pruning retrains).
TOLERANCE = {"onnx": 1e-3, "int8": 3.0, "onnx-int8": 6.0, "bf16": 3.0, "prune": 125.0}


@pytest.fixture(scope="module")
def home(copy_home: Callable[[Path], Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from lepton_shared.testing.env import lepton_env

    with lepton_env(copy_home(tmp_path_factory.mktemp("maintenance-optimize") / "home")) as path:
        yield path


@pytest.fixture(scope="module")
def optimised(home: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """The optimize result of each method, all from the tiny fp32 version, none promoted."""
    from apps.maintenance.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize
    from lepton_shared.testing.optimize import quick_measurement

    with quick_measurement(OPTIMIZER_CLASS):
        yield {m: optimize("maintenance", OPTIMIZER_CLASS, m, promote="never") for m in METHODS}


@pytest.fixture(scope="module")
def items(home: Path) -> list[Any]:
    from apps.maintenance.optimize import OPTIMIZER_CLASS
    from lepton_shared.registry import Registry

    return OPTIMIZER_CLASS(Registry().get("maintenance"), None).sample_items(6)  # type: ignore[no-any-return]


def estimates(predictor: Any, items: list[Any]) -> np.ndarray:
    return np.array([a["rul"] for a in predictor.predict_batch(items)])


def test_every_method_registers_a_measured_version(optimised: dict[str, dict[str, Any]], home: Path) -> None:
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    source = Registry().get("maintenance")
    for method, out in optimised.items():
        assert set(out) == KEYS and out["method"] == method and out["from_version"] == source.version
        assert out["metric"] == "rmse" and out["promoted"] is False
        info = Registry().get("maintenance", out["version"])
        assert info.stage == "candidate"
        assert info.params["optimised_from"] == source.version and info.params["method"] == method
        assert info.metrics["rmse"] == pytest.approx(out["metric_value"]["after"], abs=1e-6)
        assert read_optimisation(info.path)["nets"]["method"] == method  # type: ignore[index]
        assert (info.path / "ppo.pt").exists() and (info.path / "policy.json").exists()
        assert not (info.path / "report.html").exists()
    assert optimised["onnx"]["metric_value"]["after"] == pytest.approx(optimised["onnx"]["metric_value"]["before"],
                                                                      abs=1e-3)
    members = {m: (Registry().get("maintenance", out["version"]).path / "rul") for m, out in optimised.items()}
    fp32_nets = (source.path / "rul" / "members.pt").stat().st_size
    assert (members["bf16"] / "members.pt").stat().st_size < 0.7 * fp32_nets


def test_versions_answer_through_the_ordinary_predictor(optimised: dict[str, dict[str, Any]],
                                                         items: list[Any]) -> None:
    from lepton_shared.app import get_app

    app = get_app("maintenance")
    reference = estimates(app.load_predictor(None), items)
    for method, out in optimised.items():
        predictor = app.load_predictor(out["version"])
        answers = predictor.predict_batch(items)
        assert all(a["model_version"] == out["version"] for a in answers)
        assert all(a["rul_low"] <= a["rul"] <= a["rul_high"] for a in answers)
        assert np.abs(estimates(predictor, items) - reference).max() <= TOLERANCE[method], method


def test_a_batch_answers_as_its_items_one_by_one(items: list[Any]) -> None:
    """One pass of the nets for many machines gives each machine the answer it gets alone."""
    from lepton_shared.app import get_app

    predictor = get_app("maintenance").load_predictor(None)
    alone = [predictor.predict_batch([item])[0] for item in items]
    together = predictor.predict_batch(items)
    for a, b in zip(alone, together, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], abs=0.011), key  # rounded to 2 decimals


def test_an_optimised_version_cannot_be_optimised_again(optimised: dict[str, dict[str, Any]]) -> None:
    from apps.maintenance.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize

    with pytest.raises(UserError, match="already optimised"):
        optimize("maintenance", OPTIMIZER_CLASS, "int8", version=optimised["onnx"]["version"], promote="never")
    with pytest.raises(UserError, match="does not support"):
        optimize("maintenance", OPTIMIZER_CLASS, "fp16")


def test_a_promoted_onnx_version_serves_and_evaluates(optimised: dict[str, dict[str, Any]], items: list[Any]) -> None:
    from apps.maintenance.app import APP
    from apps.maintenance.config import MaintenanceEvaluateConfig
    from apps.maintenance.training import evaluate
    from lepton_shared.registry import Registry
    from lepton_shared.testing.server import serve_app

    version, source = optimised["onnx"]["version"], optimised["onnx"]["from_version"]
    Registry().promote("maintenance", version)
    try:
        with serve_app(APP.create_service()) as base:
            answer = httpx.post(f"{base}/v1/predict", json=items[0].model_dump(), timeout=60)
            assert answer.status_code == 200, answer.text
            assert answer.json()["model_version"] == version
        report = evaluate(MaintenanceEvaluateConfig(episodes=1))  # the data optimize scored on
        assert report["rul_model"]["nets"] == 1
        assert report["rmse"] == pytest.approx(optimised["onnx"]["metric_value"]["after"], abs=0.05)
    finally:
        Registry().promote("maintenance", source)
