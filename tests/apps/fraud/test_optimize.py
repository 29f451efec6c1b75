"""``lepton fraud optimize`` on a tiny MLP: every method registers a measured version that the ordinary
predictor, ``evaluate`` and the HTTP service load transparently, with reason codes; a LightGBM version is
refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from lepton_shared.errors import UserError

METHODS = ("int8", "prune", "onnx", "onnx-int8", "bf16")
KEYS = {"method", "from_version", "version", "promoted", "reason", "size_bytes", "p50_ms", "p99_ms",
        "throughput_per_s", "metric", "metric_value", "threads", "device"}
#: Largest difference of a fraud score (a probability) from fp32's, per method (pruning retrains).
TOLERANCE = {"onnx": 1e-5, "int8": 0.05, "onnx-int8": 0.05, "bf16": 0.05, "prune": 1.0}
#: Methods whose scoring net has no gradients: the fp32 net they come from gives the reasons.
EXPLAINED_BY_FP32 = ("int8", "onnx", "onnx-int8")


def register_tiny_mlp() -> str:
    """An MLP fitted for one epoch on the tiny built-in simulation, registered with the params ``train`` records
    (data, seed, periods), without ``train``'s baselines and report (seconds instead of a minute)."""
    from apps.fraud.data import load_data
    from apps.fraud.features import FEATURES, FeatureConfig
    from apps.fraud.policy import CostPolicy
    from apps.fraud.protocol import resolve_periods
    from apps.fraud.training import fit_mlp, prepare
    from lepton_shared.registry import Registry

    df, source = load_data(None, tiny=True, seed=42)
    periods = resolve_periods(df, None)
    p = prepare(df, periods)
    model = fit_mlp(p.xs[p.train], p.y[p.train], FEATURES, p.xs[p.v_val], p.y[p.v_val], epochs=1, device="cpu",
                    hidden=16, quiet=True)

    def write(folder: Path) -> None:
        model.save(folder)
        (folder / "policy.json").write_text(json.dumps(CostPolicy().as_dict()))
        (folder / "features.json").write_text(json.dumps({"delay": FeatureConfig().delay, "features": FEATURES}))

    return Registry().register("fraud", write, metrics={"average_precision": 0.0},
                               params={"data": source, "seed": 42, **periods.describe()}).version


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path_factory.mktemp("fraud-optimize") / "home", api_token="t0ken") as path:
        register_tiny_mlp()
        yield path


@pytest.fixture(scope="module")
def optimised(home: Path) -> dict[str, dict[str, Any]]:
    """The optimize result of each method, all from the tiny fp32 MLP, none promoted."""
    from apps.fraud.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize
    from lepton_shared.testing.optimize import quick_measurement

    with quick_measurement(OPTIMIZER_CLASS):
        return {m: optimize("fraud", OPTIMIZER_CLASS, m, promote="never") for m in METHODS}


@pytest.fixture(scope="module")
def items(home: Path) -> list[Any]:
    from apps.fraud.optimize import OPTIMIZER_CLASS
    from lepton_shared.registry import Registry

    return OPTIMIZER_CLASS(Registry().get("fraud"), None).sample_items(8)  # type: ignore[no-any-return]


def test_every_method_registers_a_measured_version(optimised: dict[str, dict[str, Any]], home: Path) -> None:
    from apps.fraud.variants import FP32_FILE
    from lepton_shared.optimize import read_optimisation
    from lepton_shared.registry import Registry

    source = Registry().get("fraud")
    for method, out in optimised.items():
        assert set(out) == KEYS and out["method"] == method and out["from_version"] == source.version
        assert out["metric"] == "average_precision" and out["promoted"] is False
        assert all(out[k]["after"] > 0 for k in ("size_bytes", "p50_ms", "throughput_per_s")), method
        info = Registry().get("fraud", out["version"])
        assert info.stage == "candidate"
        assert info.params["optimised_from"] == source.version and info.params["method"] == method
        assert info.metrics["average_precision"] == pytest.approx(out["metric_value"]["after"], abs=1e-6)
        assert read_optimisation(info.path)["method"] == method  # type: ignore[index]
        assert (info.path / "policy.json").exists() and not (info.path / "report.html").exists()
        assert (info.path / FP32_FILE).exists()  # the explanation net, or the optimised fp32/bf16 net itself
    assert optimised["onnx"]["metric_value"]["after"] == pytest.approx(optimised["onnx"]["metric_value"]["before"],
                                                                      abs=1e-6)
    fp32_net = (source.path / FP32_FILE).stat().st_size
    assert (Registry().get("fraud", optimised["bf16"]["version"]).path / FP32_FILE).stat().st_size < 0.7 * fp32_net
    pruned = read_optimisation(Registry().get("fraud", optimised["prune"]["version"]).path)
    assert pruned is not None and pruned["sparsity"] >= 0.45


def test_versions_answer_through_the_ordinary_predictor(optimised: dict[str, dict[str, Any]],
                                                         items: list[Any]) -> None:
    from lepton_shared.app import get_app

    app = get_app("fraud")
    reference = app.load_predictor(None).predict_batch(items)
    for method, out in optimised.items():
        predictor = app.load_predictor(out["version"])
        answers = predictor.predict_batch(items)
        assert all(a["model_version"] == out["version"] and a["reasons"] for a in answers), method
        got = np.array([a["score"] for a in answers])
        assert np.abs(got - np.array([a["score"] for a in reference])).max() <= TOLERANCE[method], method
        if method in EXPLAINED_BY_FP32:  # the same fp32 net explains: the same reasons
            assert [a["reasons"] for a in answers] == [a["reasons"] for a in reference], method


def test_a_lightgbm_version_is_refused_in_one_line(home: Path, small_data: pd.DataFrame) -> None:
    from apps.fraud.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize
    from lepton_shared.registry import Registry

    from .conftest import register_quick_model

    lightgbm = register_quick_model(small_data)
    versions = len(Registry().list("fraud"))
    with pytest.raises(UserError, match="--models mlp"):
        optimize("fraud", OPTIMIZER_CLASS, "int8", version=lightgbm, promote="never")
    assert len(Registry().list("fraud")) == versions
    env = {**os.environ, "LEPTON_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", "fraud", "optimize", "--method", "onnx",
                           "--model", lightgbm, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "Traceback" not in proc.stderr and "lepton fraud train --models mlp" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_optimised_version_cannot_be_optimised_again(optimised: dict[str, dict[str, Any]]) -> None:
    from apps.fraud.optimize import OPTIMIZER_CLASS
    from lepton_shared.optimize import optimize

    with pytest.raises(UserError, match="already optimised"):
        optimize("fraud", OPTIMIZER_CLASS, "int8", version=optimised["onnx"]["version"], promote="never")
    with pytest.raises(UserError, match="does not support"):
        optimize("fraud", OPTIMIZER_CLASS, "fp16")


def test_a_promoted_onnx_int8_version_serves_and_evaluates(optimised: dict[str, dict[str, Any]],
                                                            items: list[Any]) -> None:
    from apps.fraud.app import APP
    from apps.fraud.config import FraudEvaluateConfig
    from apps.fraud.training import evaluate
    from lepton_shared.registry import Registry
    from lepton_shared.testing.server import serve_app

    version, source = optimised["onnx-int8"]["version"], optimised["onnx-int8"]["from_version"]
    Registry().promote("fraud", version)
    try:
        expected = APP.load_predictor(None).predict_batch(items[:1])[0]
        with serve_app(APP.create_service()) as base:
            answer = httpx.post(f"{base}/v1/predict", json=items[0].model_dump(mode="json"),
                                headers={"Authorization": "Bearer t0ken"}, timeout=60)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["model_version"] == version and body["reasons"] == expected["reasons"]
            assert body["score"] == pytest.approx(expected["score"], abs=1e-6)
        report = evaluate(FraudEvaluateConfig(tiny=True, seed=42))  # the data and periods optimize scored on
        assert report["model_version"] == version
        assert report["average_precision"] == pytest.approx(optimised["onnx-int8"]["metric_value"]["after"],
                                                            abs=1e-6)
    finally:
        Registry().promote("fraud", source)


@pytest.mark.parametrize(("start", "train_days", "delay_days", "test_days"), [("2018-04-12", 7, 7, 7),
                                                                              ("2018-04-20", 10, 0, 3)])
def test_the_source_periods_are_read_back_from_its_params(small_data: pd.DataFrame, start: str, train_days: int,
                                                          delay_days: int, test_days: int) -> None:
    """optimize scores on the test week the source was trained for, as its params name it."""
    from apps.fraud.optimize import _periods
    from apps.fraud.protocol import resolve_periods

    periods = resolve_periods(small_data, start, train_days, delay_days, test_days)
    spans = _periods(periods.describe())
    assert spans is not None and resolve_periods(small_data, **spans) == periods
    assert _periods({"data": "x.csv"}) is None
