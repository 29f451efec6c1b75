"""Shadow replay on hand-made log rows: what the log keeps of an input, the replay's agreement, skip reasons,
answer distributions and metric deltas, and the report's one-line errors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lepton_shared.monitoring import AppMonitor, ReplaySkipped
from lepton_shared.monitoring.shadow import NOT_LOGGED, agreement, distribution, metric_deltas, replay
from lepton_shared.testing.env import lepton_env

BODY = {"tx_datetime": "2018-05-21T12:00:00", "customer_id": 1234, "terminal_id": 2, "tx_amount": 10.0}


def test_the_log_keeps_the_input_with_personal_ids_as_pseudonyms(lepton_home: Path) -> None:
    from lepton_shared.serving.prediction_log import failure_row, log_row
    from lepton_shared.serving.security import pseudonym

    row = log_row("fraud", "r1", "/v1/score", {"score": 0.1, "model_version": "v1"}, BODY, 1.0)
    assert row["model_input"] == {"input": {**BODY, "customer_id": pseudonym(1234)}}
    model_input = {"tx_amount": 10.0, "features": {"f": 1.0}}
    assert log_row("fraud", "r1", "/v1/score", {}, BODY, 1.0, model_input)["model_input"] == {"input": model_input}
    assert log_row("fraud", "r1", "/v1/labels", {}, BODY, 1.0)["model_input"] is None  # not a model endpoint
    assert failure_row("fraud", "v1", "r1", "/v1/score", 500, 1.0)["model_input"] is None
    assert log_row("imaging", "r1", "/v1/diagnose", {"label": "normal"}, b"\x89PNG", 1.0)["model_input"] == {
        "skipped": "raw bytes, not a JSON input"}


def test_inputs_over_the_limit_are_skipped_and_the_setting_turns_logging_off(tmp_path: Path) -> None:
    from lepton_shared.serving.prediction_log import log_row

    big = {"text": "word " * 400}  # 2 KB of JSON
    with lepton_env(tmp_path / "a", log_input_max_kb="1"):
        kept = log_row("chatbot", "r", "/v1/predict", {"intent": "x"}, big, 1.0)["model_input"]
        assert kept == {"skipped": "input over LEPTON_LOG_INPUT_MAX_KB (1 KiB)"}
        assert log_row("chatbot", "r", "/v1/predict", {"intent": "x"}, {"text": "hi"}, 1.0)["model_input"] == {
            "input": {"text": "hi"}}
    with lepton_env(tmp_path / "b", log_inputs="0"):
        row = log_row("chatbot", "r", "/v1/predict", {"intent": "x"}, {"text": "hi"}, 1.0)
        assert row["model_input"] is None and row["features"] is not None  # monitoring itself carries on


class LabelMonitor(AppMonitor):
    """Answers are ``{"label": ..., "p": ...}``; a logged input is ``{"x": number}``, labelled by ``"y"``."""

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        return None

    def prediction(self, output: Mapping[str, Any]) -> Any:
        return output.get("p")

    def answer(self, output: Mapping[str, Any]) -> Any:
        return output.get("label")

    def replay_input(self, predictor: Any, logged: Any) -> dict[str, Any]:
        if "x" not in logged:
            raise ReplaySkipped("no x")
        return predictor(logged["x"])


def candidate(x: float) -> dict[str, Any]:
    """Says "high" from 5 on (the logged production said it from 3 on)."""
    return {"label": "high" if x >= 5 else "low", "p": x / 10}


def row(x: float | None, skipped: str | None = None) -> SimpleNamespace:
    logged = None if x is None and skipped is None else {"skipped": skipped} if skipped else {"input": {"x": x}}
    return SimpleNamespace(model_version="v1", model_input=logged,
                           output={"label": "high" if (x or 0) >= 3 else "low", "p": (x or 0) / 10})


def test_replay_counts_agreement_and_skip_reasons() -> None:
    rows = [row(x) for x in range(10)] + [row(None), row(None, "too big"), row(None, "too big"),
                                          SimpleNamespace(model_version="v1", model_input={"input": {}}, output={})]
    loads: list[int] = []
    kept, answers, skipped = replay(LabelMonitor(), rows, lambda: loads.append(1) or candidate)
    assert len(kept) == 10 and loads == [1]  # the predictor loads once
    assert skipped == {NOT_LOGGED: 1, "too big": 2, "no x": 1}
    assert [a["label"] for a in answers] == ["low"] * 5 + ["high"] * 5
    # production says high for 3..9, the candidate for 5..9: they differ on 3 and 4
    assert agreement(LabelMonitor(), [r.output for r in kept], answers) == 0.8


def test_no_replayable_row_never_loads_the_model() -> None:
    def load() -> Any:
        raise AssertionError("loaded for nothing")

    kept, answers, skipped = replay(LabelMonitor(), [row(None), row(None, "too big")], load)
    assert kept == [] and answers == [] and sum(skipped.values()) == 2


def test_metric_deltas_on_the_labelled_rows_only() -> None:
    monitor = LabelMonitor()
    logged = [row(x).output for x in range(10)]
    replayed = [candidate(x) for x in range(10)]
    labels: Sequence[Any] = [None, None, "low", "low", "low", "high", "high", None, None, None]
    # labelled x = 2..6: production right on 2, 5, 6 (3/5), the candidate on all five
    assert metric_deltas(monitor, logged, replayed, labels) == {
        "accuracy": {"production": 0.6, "candidate": 1.0, "delta": 0.4, "labelled": 5}}
    assert metric_deltas(monitor, logged, replayed, [None] * 10) == {}


def test_distributions_of_labels_and_scores() -> None:
    assert distribution(["a", "b", "a", None]) == {"n": 3, "counts": {"a": 2, "b": 1}}
    numeric = distribution([0.1 * i for i in range(11)])
    assert numeric is not None and numeric["n"] == 11 and numeric["quantiles"]["p50"] == pytest.approx(0.5)
    assert distribution([None]) is None


def test_report_of_an_empty_window_and_one_line_errors(lepton_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_shared.cli.main import main
    from lepton_shared.serving.prediction_log import insert_rows, log_row
    from lepton_shared.storage import init_db
    from lepton_shared.testing.monitoring import register_fraud_reference

    register_fraud_reference([1.0, 2.0])  # v1, with no model files to load: a replay would fail
    init_db()
    rows = [log_row("fraud", f"r{i}", "/v1/score", {"score": 0.1, "model_version": "v1"}, BODY, 1.0)
            for i in range(2)]
    rows[0]["model_input"], rows[1]["model_input"] = None, {"skipped": "too big"}
    insert_rows(rows)
    with pytest.raises(SystemExit) as done:
        main(["models", "shadow", "fraud", "v1", "--since", "1h", "--json"])
    assert done.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert {"app", "version", "production_version", "replayed", "skipped", "agreement", "metric_deltas",
            "since"} <= set(report)
    assert report["replayed"] == 0 and report["agreement"] is None and report["metric_deltas"] == {}
    assert report["skipped"] == {NOT_LOGGED: 1, "too big": 1} and report["logged"] == 2
    assert "no logged fraud input to replay" in report["message"]
    with pytest.raises(SystemExit) as done:
        main(["models", "shadow", "fraud", "v1", "--since", "1h"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("no logged fraud input to replay")
    for argv, needle in ((["v9"], "unknown fraud model version 'v9'"), (["v1", "--since", "soon"], "--since"),
                         (["v1", "--limit", "0"], "--limit")):
        with pytest.raises(SystemExit) as done:
            main(["models", "shadow", "fraud", *argv])
        err = capsys.readouterr().err
        assert done.value.code == 2 and err.count("\n") == 1 and needle in err and "Traceback" not in err
