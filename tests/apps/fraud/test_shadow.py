"""Shadow replay end to end: payments scored by the served production model, some labelled, then
``lepton models shadow`` replays them through a candidate (and through production itself, which must agree)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from lepton_shared.testing.server import serve_app

from .conftest import register_quick_model

AUTH = {"Authorization": "Bearer t0ken"}


def shadow(version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from lepton_shared.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["models", "shadow", "fraud", version, "--since", "1h", "--json"])
    assert done.value.code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_shadow_replays_scored_payments_through_a_candidate(trained_home: Path, small_data: pd.DataFrame,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from apps.fraud.app import APP

    frauds = small_data.index[small_data["TX_FRAUD"] == 1][:10]
    rows = small_data.loc[sorted([*frauds, *small_data.index[small_data["TX_FRAUD"] == 0][:30]])]
    payments = [{"transaction_id": f"t{i}", "tx_datetime": r.TX_DATETIME.isoformat(),
                 "customer_id": int(r.CUSTOMER_ID), "terminal_id": int(r.TERMINAL_ID), "tx_amount": float(r.TX_AMOUNT)}
                for i, r in enumerate(rows.itertuples())]
    with serve_app(APP.create_service()) as base, httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        for payment in payments:
            assert client.post("/v1/score", json=payment).status_code == 200
        assert client.post("/v1/predict", json=payments[0]).status_code == 200  # its features are not kept
        labels = [{"transaction_id": p["transaction_id"], "label": "fraud" if fraud else "legit"}
                  for p, fraud in zip(payments, rows["TX_FRAUD"], strict=True)][::2]
        assert client.post("/v1/labels", json={"labels": labels}).status_code == 200
    candidate = register_quick_model(small_data, rounds=3, promote=False)

    report = shadow(candidate, capsys)
    assert report["version"] == candidate and report["production_version"] == "v1"
    assert report["replayed"] == len(payments) and report["answered_by"] == {"v1": len(payments)}
    assert report["skipped"] == {"no features logged (only POST /v1/score logs them)": 1}
    assert 0.0 <= report["agreement"] <= 1.0
    assert sum(report["answers"]["candidate"]["counts"].values()) == len(payments)
    assert set(report["metric_deltas"]) >= {"recall", "average_precision"}
    assert {d["labelled"] for d in report["metric_deltas"].values()} == {len(labels)}

    same = shadow("v1", capsys)  # the logged features reproduce production's own answers exactly
    assert same["agreement"] == 1.0 and same["answers"]["candidate"] == same["answers"]["production"]
    assert {d["delta"] for d in same["metric_deltas"].values()} == {0.0}
