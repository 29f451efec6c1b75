"""The optimise runner on a fake app: measuring, registering, the promotion gate and its overrides."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lepton_shared.errors import UserError
from lepton_shared.optimize import AppOptimizer, optimize, read_optimisation, write_optimisation
from lepton_shared.optimize import runner as runner_module
from lepton_shared.promotion import gate
from lepton_shared.registry import Registry

KEYS = {"method", "from_version", "version", "promoted", "reason", "size_bytes", "p50_ms", "p99_ms",
        "throughput_per_s", "metric", "metric_value", "threads", "device"}


class FakePredictor:
    def __init__(self, version: str) -> None:
        self.version = version

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        return [{"y": i, "model_version": self.version} for i in items]


class FakeApp:
    name = "demo"
    key_metric = "accuracy"
    higher_is_better = True
    tolerance = 0.01
    loaded: ClassVar[list[str]] = []

    def load_predictor(self, version: str | None = None) -> FakePredictor:
        info = Registry().get("demo", version)
        self.loaded.append(info.version)
        return FakePredictor(info.version)


class FakeOptimizer(AppOptimizer):
    methods: ClassVar[tuple[str, ...]] = ("int8", "onnx")
    batch_size: ClassVar[int] = 4
    after_value: ClassVar[float] = 0.9

    def write(self, method: str, folder: Path) -> None:
        (folder / "net.bin").write_bytes(b"q" * 1000)
        write_optimisation(folder, method, self.source)

    def metric(self, version: str) -> float:
        return 0.9 if version == self.source.version else self.after_value

    def sample_items(self, n: int) -> list[Any]:
        return list(range(n))


@pytest.fixture()
def demo(lepton_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import lepton_shared.app

    monkeypatch.setattr(lepton_shared.app, "get_app", lambda name: FakeApp())
    monkeypatch.setattr(runner_module, "LATENCY_REPEATS", 3)
    monkeypatch.setattr(runner_module, "THROUGHPUT_SECONDS", 0.01)
    monkeypatch.setattr(runner_module, "MEASURE_ROUNDS", 2)
    FakeApp.loaded.clear()

    def write(folder: Path) -> None:
        (folder / "net.bin").write_bytes(b"f" * 4000)

    return Registry().register("demo", write, metrics={"accuracy": 0.9, "f1": 0.8}, params={"lr": 0.1}).version


def run(after: float, **kwargs: Any) -> dict[str, Any]:
    optimizer = type("Opt", (FakeOptimizer,), {"after_value": after})
    return optimize("demo", optimizer, kwargs.pop("method", "int8"), **kwargs)


def test_within_tolerance_is_promoted_and_measured(demo: str) -> None:
    out = run(0.895)
    assert set(out) == KEYS
    assert out["promoted"] is True and out["from_version"] == demo and out["version"] == "v2"
    assert out["size_bytes"]["before"] == 4000 and 1000 < out["size_bytes"]["after"] < 1300  # + optimisation.json
    assert out["metric"] == "accuracy" and out["metric_value"] == {"before": 0.9, "after": 0.895}
    assert all(out[k]["before"] >= 0 and out[k]["after"] >= 0 for k in ("p50_ms", "p99_ms", "throughput_per_s"))
    assert out["device"] == "cpu" and out["threads"] >= 1
    assert FakeApp.loaded == ["v1", "v2"]  # both measured through the app's own predictor
    info = Registry().get("demo")
    assert info.version == "v2"
    assert info.params == {"lr": 0.1, "optimised_from": "v1", "method": "int8"}
    assert info.metrics["accuracy"] == 0.895 and info.metrics["f1"] == 0.8
    assert json.loads((info.path / "lepton_meta.json").read_text())["metrics"]["accuracy"] == 0.895
    assert read_optimisation(info.path)["optimised_from"] == "v1"  # type: ignore[index]
    json.dumps(out)


def test_drop_beyond_tolerance_stays_a_candidate(demo: str) -> None:
    out = run(0.85)
    assert out["promoted"] is False and "more than the tolerance" in out["reason"]
    assert Registry().get("demo").version == "v1"
    assert Registry().get("demo", out["version"]).stage == "candidate"
    assert run(0.85, tolerance=0.1)["promoted"] is True


def test_promote_overrides(demo: str) -> None:
    never = run(0.95, promote="never")
    assert never["promoted"] is False and "never" in never["reason"]
    always = run(0.5, promote="always")
    assert always["promoted"] is True and "always" in always["reason"]
    assert Registry().get("demo").version == always["version"]


@pytest.mark.parametrize(("before", "after", "higher", "promote", "expected"), [
    (0.90, 0.895, True, "gate", True),
    (0.90, 0.88, True, "gate", False),
    (0.90, 0.95, True, "gate", True),
    (1.00, 1.005, False, "gate", True),  # rmse: a small rise is within the tolerance
    (1.00, 1.05, False, "gate", False),  # rmse: a rise beyond it is a drop
    (0.90, float("nan"), True, "gate", False),
    (float("nan"), 0.90, True, "gate", False),
    (0.90, 0.10, True, "always", True),
    (0.90, 0.95, True, "never", False),
])
def test_gate(before: float, after: float, higher: bool, promote: str, expected: bool) -> None:
    promoted, reason = gate(before, after, 0.01, higher, promote, "m")
    assert promoted is expected and reason


def test_refuses_unknown_and_unsupported_methods(demo: str) -> None:
    with pytest.raises(UserError, match="unknown optimisation method"):
        run(0.9, method="int4")
    with pytest.raises(UserError, match="does not support --method bf16"):
        run(0.9, method="bf16")
    with pytest.raises(UserError, match="--promote"):
        run(0.9, promote="maybe")
    with pytest.raises(UserError, match="--tolerance"):
        run(0.9, tolerance=-1)
    assert [i.version for i in Registry().list("demo")] == ["v1"]


def test_cli_options_and_an_app_without_a_network() -> None:
    from lepton_shared.cli import optimize as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--method", "onnx-int8", "--model", "v3", "--tolerance", "0.005", "--json"])
    assert (args.method, args.model, args.tolerance, args.promote, args.json) == ("onnx-int8", "v3", 0.005,
                                                                                  "gate", True)
    with pytest.raises(SystemExit):
        parser.parse_args(["--method", "int4"])
    with pytest.raises(UserError, match="has no network to optimise"):
        cli.run("nosuchapp", args)


def test_measure_pair_alternates_the_two_predictors(monkeypatch: pytest.MonkeyPatch) -> None:
    from lepton_shared.optimize.runner import measure_pair

    monkeypatch.setattr(runner_module, "LATENCY_REPEATS", 4)
    monkeypatch.setattr(runner_module, "LATENCY_WARMUP", 1)
    monkeypatch.setattr(runner_module, "THROUGHPUT_SECONDS", 0.001)
    calls: list[str] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def predict_batch(self, items: list[Any]) -> list[Any]:
            if not calls or calls[-1] != self.name:
                calls.append(self.name)
            return items

    before, after = measure_pair(Recorder("a"), Recorder("b"), [1, 2, 3], batch_size=5, rounds=4)
    # warm-ups a b, then rounds a b | b a | a b | b a (runs of the same predictor recorded once)
    assert calls == ["a", "b", "a", "b", "a", "b", "a"]
    assert set(before) == set(after) == {"p50_ms", "p99_ms", "throughput_per_s"}
    assert before["p50_ms"] <= before["p99_ms"] and after["throughput_per_s"] > 0
