"""Fraud monitoring through the service: 1,000 in-distribution payments raise no alert, 200 with amounts x3 do.

The reference profile is scored the way the service scores (the same predictor on the same empty history),
from payments other than the ones sent, and registered with the model through the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import eventually, serve_app

AUTH = {"Authorization": "Bearer t0ken"}


def payments(df: pd.DataFrame, rows: np.ndarray, amount_factor: float = 1.0) -> list[dict[str, Any]]:
    return [{"tx_datetime": df["TX_DATETIME"].iloc[i].isoformat(), "customer_id": int(df["CUSTOMER_ID"].iloc[i]),
             "terminal_id": int(df["TERMINAL_ID"].iloc[i]),
             "tx_amount": round(float(df["TX_AMOUNT"].iloc[i]) * amount_factor, 2)} for i in rows]


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory,
              small_data: pd.DataFrame) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A service whose production model carries a profile of 1,000 payments; 1,200 other payments to send."""
    from apps.fraud.app import APP
    from apps.fraud.features import FEATURES, FeatureConfig, offline_features
    from apps.fraud.policy import CostPolicy
    from apps.fraud.predictor import FraudPredictor
    from apps.fraud.training import fit_lightgbm
    from lepton_shared.monitoring import write_reference
    from lepton_shared.registry import Registry

    rows = np.random.default_rng(0).permutation(len(small_data))
    with lepton_env(tmp_path_factory.mktemp("fraud-monitor"), api_token="t0ken"):
        model = fit_lightgbm(offline_features(small_data)[FEATURES].to_numpy(), small_data["TX_FRAUD"].to_numpy(),
                             FEATURES, rounds=30)
        reference = payments(small_data, rows[:1000])
        predictor = FraudPredictor("reference", model, CostPolicy(), FeatureConfig())
        outputs = predictor.predict_batch([predictor.InputModel.model_validate(p) for p in reference])

        def write(folder: Path) -> None:
            model.save(folder)
            (folder / "policy.json").write_text(json.dumps(CostPolicy().as_dict()))
            (folder / "features.json").write_text(json.dumps({"delay": FeatureConfig().delay, "features": FEATURES}))
            write_reference("fraud", folder, reference, outputs)

        Registry().register("fraud", write, metrics={"average_precision": 0.0})
        with serve_app(APP.create_service()) as base:
            yield base, payments(small_data, rows[1000:2200])


@pytest.fixture()
def service(monitored: tuple[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """The monitored service with an empty prediction log."""
    clear_log()
    return monitored


def send(base: str, items: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        for item in items:
            assert client.post("/v1/predict", json=item).status_code == 200


def report_after(n: int) -> dict[str, Any]:
    from lepton_shared.monitoring.report import monitor_report

    return eventually(lambda: monitor_report("fraud", "1h"), lambda r: r["requests"] >= n)


def clear_log() -> None:
    from sqlalchemy import delete

    from lepton_shared.storage import PredictionLog, session_scope

    with session_scope() as session:
        session.execute(delete(PredictionLog))


def test_in_distribution_traffic_raises_no_alert_and_amounts_x3_do(service: tuple[str, list[dict[str, Any]]]) -> None:
    base, live = service
    send(base, live[:1000])
    quiet = report_after(1000)
    assert quiet["requests"] == 1000 and quiet["error_rate"] == 0.0
    assert set(quiet["drift"]["features"]) == {"tx_amount", "tx_hour"}
    assert quiet["drift"]["features"]["tx_amount"]["n"] == 1000
    assert quiet["alerts"] == [], quiet["alerts"]
    assert quiet["latency_ms"]["p50"] is not None and quiet["latency_ms"]["p50"] <= quiet["latency_ms"]["p99"]

    clear_log()  # the next window: only the shifted traffic
    shifted = [{**p, "tx_amount": round(p["tx_amount"] * 3, 2)} for p in live[1000:1200]]
    send(base, shifted)
    loud = report_after(200)
    assert loud["drift"]["features"]["tx_amount"]["alert"]
    assert not loud["drift"]["features"]["tx_hour"]["alert"]  # only what moved
    assert any(a.startswith("tx_amount drifted") for a in loud["alerts"])


def test_failed_requests_count_in_the_error_rate(service: tuple[str, list[dict[str, Any]]]) -> None:
    """A rejected payment (422) is a logged request but not a server error."""
    base, live = service
    send(base, live[:3])
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        assert client.post("/v1/predict", json={**live[3], "tx_amount": -1}).status_code == 422
    report = report_after(4)
    assert report["requests"] == 4 and report["error_rate"] == 0.0 and report["rejected_rate"] == 0.25
