"""``lepton monitor``'s report on a hand-written prediction log: counts, rates, latency, window, drift, alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lepton_shared.monitoring.report import ERROR_RATE_ALERT, monitor_report, parse_duration
from lepton_shared.testing.monitoring import log_fraud_requests as log
from lepton_shared.testing.monitoring import register_fraud_reference


def test_counts_rates_latency_and_a_drift_alert(lepton_home: Path) -> None:
    register_fraud_reference([float(a) for a in range(1, 201)])
    log([{"amount": 3.0 * a, "latency": float(a)} for a in range(1, 101)]  # amounts x3, latencies 1..100 ms
        + [{"status": 500, "latency": 1.0}] * 6 + [{"status": 422, "latency": 1.0}] * 4
        + [{"amount": 1.0, "latency": 1.0, "endpoint": "/v1/labels"}]  # not a model endpoint
        + [{"amount": 1.0, "latency": 1.0, "age": timedelta(hours=2)}])  # before the window
    report = monitor_report("fraud", "1h")
    assert report["requests"] == 110
    assert report["error_rate"] == pytest.approx(6 / 110, abs=1e-4) and report["rejected_rate"] == pytest.approx(
        4 / 110, abs=1e-4)
    assert report["latency_ms"] == {"p50": pytest.approx(50.5), "p99": pytest.approx(99.01)}
    features = report["drift"]["features"]
    assert features["tx_amount"]["alert"] and features["tx_amount"]["n"] == 100
    assert features["tx_hour"]["score"] == 0.0 and not features["tx_hour"]["alert"]
    assert report["drift"]["prediction"]["score"] == 0.0
    assert ERROR_RATE_ALERT < 6 / 110  # so the error rate alerts
    assert [a.split(" ")[0] for a in report["alerts"]] == ["tx_amount", "error_rate"]
    assert report["live_quality"] is None  # no labels came back
    assert monitor_report("fraud", "3h")["requests"] == 111  # the older row is inside a longer window


def test_no_traffic_and_no_model_are_reported_not_errors(lepton_home: Path) -> None:
    report = monitor_report("fraud")
    assert report["requests"] == 0 and report["error_rate"] is None and report["latency_ms"] == {
        "p50": None, "p99": None}
    assert report["drift"] == {"model_version": None, "features": {}, "prediction": None}
    assert report["alerts"] == [] and "no production fraud model" in report["notes"][0]


def test_fraud_live_quality_from_returned_labels(lepton_home: Path) -> None:
    from apps.fraud.tables import Transaction
    from lepton_shared.storage import session_scope

    now = datetime.now(UTC)
    with session_scope() as session:
        for i, (score, decision, label) in enumerate([(0.9, "decline", 1), (0.7, "review", 0), (0.2, "approve", 1),
                                                      (0.1, "approve", 0)]):
            session.add(Transaction(transaction_id=f"t{i}", tx_datetime=now.replace(tzinfo=None), day=0, customer_id=1,
                                    terminal_id=1, amount=10.0, score=score, decision=decision, label=label,
                                    label_source="analyst", labelled_at=now))
    quality = monitor_report("fraud")["live_quality"]
    assert quality == {"labelled": 4, "fraud_rate": 0.5, "precision": 0.5, "recall": 0.5,
                       "average_precision": pytest.approx(0.8333, abs=1e-4)}


@pytest.mark.parametrize(("text", "expected"), [("30m", timedelta(minutes=30)), ("24h", timedelta(hours=24)),
                                                ("7d", timedelta(days=7)), ("1.5h", timedelta(minutes=90))])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_cli_json_and_one_line_errors(lepton_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_shared.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["monitor", "fraud", "--json"])
    assert done.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"requests", "error_rate", "latency_ms", "drift", "live_quality", "alerts"} <= set(out)
    for bad in ("yesterday", "0h", "-3d"):
        with pytest.raises(SystemExit) as done:
            main(["monitor", "fraud", f"--since={bad}"])
        err = capsys.readouterr().err
        assert done.value.code == 2 and err.count("\n") == 1 and "--since" in err


def test_timeline_buckets_requests_errors_and_latency(lepton_home: Path) -> None:
    from lepton_shared.monitoring.report import timeline

    log([{"amount": 1.0, "latency": 4.0, "age": timedelta(minutes=90)}] * 3
        + [{"amount": 1.0, "latency": 2.0}] * 3 + [{"status": 503, "latency": 1.0}])
    points = timeline("fraud", "3h")
    assert [(p["requests"], p["error_rate"], p["p50_ms"]) for p in points] == [(3, 0.0, 4.0), (4, 0.25, 2.0)]
    assert points[0]["time"] < points[1]["time"]


def test_the_monitor_command_imports_no_model_or_frame_library(lepton_home: Path) -> None:
    """Issue 17's 2 s for ``lepton monitor`` is mostly start-up: the command must not load torch, pandas,
    scikit-learn or Streamlit (a report with drift, labels and traffic, in a fresh process as a user runs it)."""
    import os
    import subprocess
    import sys

    from apps.fraud.tables import Transaction
    from lepton_shared.storage import session_scope

    register_fraud_reference([float(a) for a in range(1, 51)])
    log([{"amount": float(a), "latency": 1.0} for a in range(1, 51)])
    with session_scope() as session:
        session.add(Transaction(transaction_id="t", tx_datetime=datetime.now(UTC).replace(tzinfo=None), day=0,
                                customer_id=1, terminal_id=1, amount=1.0, score=0.9, decision="decline", label=1,
                                label_source="analyst", labelled_at=datetime.now(UTC)))
    heavy = ("torch", "pandas", "sklearn", "streamlit", "transformers")
    script = ("import json, sys\nfrom lepton_shared.cli.main import run\nrun(['monitor', 'fraud', '--json'])\n"
              f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, text=True,
                          check=True)
    *report, loaded = done.stdout.splitlines()
    assert json.loads("\n".join(report))["live_quality"]["labelled"] == 1
    assert json.loads(loaded) == []


def test_help_imports_no_database_or_model_library() -> None:
    """``lepton --help`` and ``lepton <app> --help`` start in well under a second: argparse and the manifests
    only, not SQLAlchemy (the registry), numpy's model code, or torch."""
    import os
    import subprocess
    import sys

    script = ("import json, sys\nfrom lepton_shared.cli.main import build_parser\nbuild_parser('fraud')\n"
              "print(json.dumps([m for m in ('sqlalchemy', 'torch', 'pandas', 'scipy') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []
