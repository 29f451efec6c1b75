"""The maintenance reference profile on a simulated fleet, with a stand-in RUL model (no training): requests
shaped as ``POST /v1/predict`` gets them, the features the live side computes, and the model's RUL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from apps.maintenance.monitoring import MaintenanceMonitor


class LengthRul:
    """RUL 100, 99, 98… in the order of the windows asked for (distinct answers, easy to check)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    def predict_windows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = 100.0 - np.arange(len(x), dtype=np.float64)
        return mean, mean - 1, mean + 1


def test_reference_requests_are_service_requests_with_the_models_rul(tmp_path: Path) -> None:
    from apps.maintenance.features import FeatureSpec
    from apps.maintenance.predictor import MaintenancePredictor
    from apps.maintenance.simulator import simulate_fleet
    from apps.maintenance.training import reference_requests
    from lepton_shared.monitoring import load_profile, write_reference

    frame = simulate_fleet(4, seed=2)
    inputs, outputs = reference_requests(LengthRul(FeatureSpec.fit(frame)), frame, seed=0, n=50)  # type: ignore[arg-type]
    assert len(inputs) == len(outputs) == 50
    assert [o["rul"] for o in outputs] == [100.0 - i for i in range(50)]
    lengths = {len(i["readings"]) for i in inputs}
    assert len(lengths) > 10 and min(lengths) >= 1  # machines caught at many points of their lives
    example = MaintenancePredictor.example_input()
    assert set(inputs[0]["readings"][0]) == set(example["readings"][0])  # the same columns the service takes

    write_reference("maintenance", tmp_path, inputs, outputs)
    profile = load_profile(tmp_path)
    live = MaintenanceMonitor().features(example, {"rul": 1.0})
    assert profile is not None and profile.prediction is not None and live is not None
    assert set(profile.features) == set(live)  # what the service logs can be compared with the reference
    assert profile.prediction.n == 50 and profile.features["readings"].kind == "numeric"
