"""Maintenance monitoring end to end: the tiny training registers a reference profile of its fleet's requests,
and ``lepton monitor maintenance --json`` compares logged readings with it, feature by feature: a recalibrated
sensor alerts, the untouched features of the same requests do not."""

from __future__ import annotations

import json
import math
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


def test_live_quality_scores_estimates_against_reported_failures(lepton_home: Path) -> None:
    """An estimate at reading r of a machine that failed at reading F had F - r cycles left; an estimate after
    the machine's last failure, or of a machine that has not failed, has no label yet."""
    from datetime import UTC, datetime, timedelta

    from apps.maintenance import storage
    from apps.maintenance.monitoring import MaintenanceMonitor
    from lepton_shared.serving.prediction_log import insert_rows, log_row
    from lepton_shared.storage import init_db

    init_db()
    monitor = MaintenanceMonitor()
    since = datetime.now(UTC) - timedelta(hours=1)
    assert monitor.live_quality(since) is None
    estimates = [("m1", 10, 50.0), ("m1", 40, 10.0), ("m1", 70, 5.0), ("m2", 5, 80.0)]  # machine, reading, rul
    insert_rows([log_row("maintenance", f"r{n}", f"/v1/machines/{m}", {"machine_id": m, "reading": r, "rul": rul},
                         {"machine_id": m}, 1.0) for n, (m, r, rul) in enumerate(estimates)])
    storage.add_readings("m1", [{"s_1": 0.0}] * 60)
    storage.record_failure("m1", 60)  # truths 50 and 20 cycles; the reading-70 estimate came after it
    quality = monitor.live_quality(since)
    assert quality == {"estimates": 2, "machines": 1, "rmse": round(math.sqrt((0 + 10**2) / 2), 2), "mae": 5.0,
                       "overestimated_share": 0.0}
