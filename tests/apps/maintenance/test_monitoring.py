"""Maintenance monitoring end to end: the tiny training registers a reference profile of its fleet's requests,
and ``lepton monitor maintenance --json`` compares logged readings with it, feature by feature: a recalibrated
sensor alerts, the untouched features of the same requests do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SENT = 40  #: requests logged: above drift.MIN_LIVE, so every feature is tested


def _requests(shifted: str, offset: float) -> list[dict[str, Any]]:
    """Growing histories of simulated machines, the latest reading's ``shifted`` sensor moved by ``offset``."""
    from apps.maintenance.simulator import simulate_fleet

    fleet = simulate_fleet(4, seed=11)
    columns = [c for c in fleet.columns if c.startswith(("s_", "setting_"))]
    bodies = []
    for _, group in fleet.groupby("unit"):
        rows = group.sort_values("cycle")[columns].to_dict("records")
        for end in np.linspace(5, len(rows), SENT // 4, dtype=int):
            readings = [dict(r) for r in rows[:end]]
            readings[-1][shifted] += offset
            bodies.append({"readings": readings})
    return bodies


def test_train_stores_a_profile_and_monitor_reports_each_feature(fresh_home: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from apps.maintenance.app import APP
    from lepton_shared.cli.main import main
    from lepton_shared.monitoring import load_profile
    from lepton_shared.registry import Registry
    from lepton_shared.serving.prediction_log import insert_rows, log_row

    profile = load_profile(Registry().get("maintenance").path)
    assert profile is not None and profile.prediction is not None and profile.prediction.kind == "numeric"
    sensors = sorted(name for name in profile.features if name.startswith("last_s_"))
    assert "readings" in profile.features and sensors
    shifted = sensors[0]
    reference = profile.features[shifted]
    spread = reference.quantiles["p99"] - reference.quantiles["p1"]
    bodies = _requests(shifted.removeprefix("last_"), offset=10 * spread + 1.0)
    assert len(bodies) == SENT
    predictor = APP.load_predictor()
    answers = predictor.predict_batch([predictor.InputModel.model_validate(b) for b in bodies])
    insert_rows([log_row("maintenance", f"m{i}", "/v1/predict", out, body, 2.0)
                 for i, (body, out) in enumerate(zip(bodies, answers, strict=True))])

    with pytest.raises(SystemExit) as done:
        main(["monitor", "maintenance", "--json"])
    assert done.value.code == 0
    report = json.loads(capsys.readouterr().out)
    features = report["drift"]["features"]
    assert report["requests"] == SENT and set(features) == set(profile.features)
    assert all(d["n"] == SENT and d["score"] is not None for d in features.values())
    assert features[shifted]["alert"] and features[shifted]["score"] == 1.0
    assert any(shifted in line for line in report["alerts"])
    assert report["drift"]["prediction"]["n"] == SENT
