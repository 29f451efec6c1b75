"""The promotion gate's decisions, and ``train``'s and ``models promote``'s use of it on a real registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lepton_shared.errors import UserError
from lepton_shared.promotion import (
    DEFAULT_TOLERANCE,
    Decision,
    best_baseline,
    decide,
    promote_version,
    register_trained,
)
from lepton_shared.registry import ModelInfo, Registry


def _version(version: str, value: float | None, baseline: float | None = 0.5, fingerprint: str = "data-a",
             seed: int | None = 42, metric: str = "accuracy") -> ModelInfo:
    metrics: dict[str, Any] = {} if value is None else {metric: value}
    if baseline is not None:
        metrics["baselines"] = {"simple": {metric: baseline}}
    params = {} if seed is None else {"seed": seed}
    return ModelInfo(app="demo", version=version, path=Path("/nowhere"), stage="candidate", metrics=metrics,
                     params=params, data_fingerprint=fingerprint)


def _decide(candidate: ModelInfo, production: ModelInfo | None, promote: str = "gate", higher: bool = True,
            metric: str = "accuracy") -> Decision:
    return decide(candidate, production, metric, higher, promote)


def test_worse_than_production_beyond_the_tolerance_stays_a_candidate() -> None:
    decision = _decide(_version("v2", 0.80), _version("v1", 0.85))
    assert not decision.promote and not decision.passed
    assert decision.reason.startswith("left a candidate: ")
    assert "got worse by 0.0500 (0.8500 -> 0.8000), more than the tolerance 0.01" in decision.reason
    assert "production v1 on the same data (registered metrics)" in decision.reason


def test_within_the_tolerance_is_promoted() -> None:
    decision = _decide(_version("v2", 0.845), _version("v1", 0.85))
    assert decision.promote and decision.reason.startswith("promoted: ")
    assert "within the tolerance 0.01" in decision.reason
    assert _decide(_version("v2", 0.90), _version("v1", 0.85)).promote  # better is promoted too


def test_losing_to_the_baseline_stays_a_candidate_even_when_better_than_production() -> None:
    decision = _decide(_version("v2", 0.90, baseline=0.95), _version("v1", 0.85))
    assert not decision.promote
    assert "accuracy 0.9000 does not beat the baseline simple (0.9500)" in decision.reason
    assert not _decide(_version("v2", 0.90, baseline=0.90), None).promote  # a tie does not beat it


def test_the_strongest_baseline_is_the_one_to_beat() -> None:
    metrics = {"ndcg": 0.5, "baselines": {"popularity": {"ndcg": 0.3}, "als": {"ndcg": 0.45}, "broken": {},
                                          "note": "not a baseline"}}
    assert best_baseline(metrics, "ndcg", higher_is_better=True) == ("als", 0.45)
    assert best_baseline(metrics, "ndcg", higher_is_better=False) == ("popularity", 0.3)
    assert best_baseline({"ndcg": 0.5}, "ndcg", True) is None


def test_first_version_only_has_to_beat_the_baseline() -> None:
    first = _decide(_version("v1", 0.6), None)
    assert first.promote
    assert "beats the baseline simple (0.5000)" in first.reason and "no production version yet" in first.reason
    assert not _decide(_version("v1", 0.4), None).promote


def test_no_recorded_baseline_is_said_and_does_not_block() -> None:
    decision = _decide(_version("v1", 0.6, baseline=None), None)
    assert decision.promote and "no baseline was recorded" in decision.reason


@pytest.mark.parametrize(("changes", "said"), [
    ({"fingerprint": "data-b"}, "data differ (fingerprint data-b against data-a)"),
    ({"seed": 7}, "held-out splits differ (seed 7 against 42)"),
])
def test_other_evaluation_data_leaves_only_the_baseline_check(changes: dict[str, Any], said: str) -> None:
    decision = _decide(_version("v2", 0.70, **changes), _version("v1", 0.85))
    assert decision.promote  # far worse than v1's number, but that number is from other rows
    assert said in decision.reason and "only the baseline check applies" in decision.reason
    assert not _decide(_version("v2", 0.40, **changes), _version("v1", 0.85)).promote  # the baseline still counts


def test_a_seed_recorded_on_one_side_only_does_not_split_the_data() -> None:
    assert not _decide(_version("v2", 0.80, seed=None), _version("v1", 0.85)).promote


def test_lower_is_better_metrics_turn_the_comparison_around() -> None:
    rmse = {"metric": "rmse", "baseline": 30.0}
    assert _decide(_version("v2", 20.0, **rmse), _version("v1", 20.005, **rmse), higher=False, metric="rmse").promote
    worse = _decide(_version("v2", 21.0, **rmse), _version("v1", 20.0, **rmse), higher=False, metric="rmse")
    assert not worse.promote and "got worse by 1.0000" in worse.reason
    assert not _decide(_version("v1", 31.0, **rmse), None, higher=False, metric="rmse").promote


def test_always_and_never_override_and_still_say_what_the_gate_found() -> None:
    worse, better = _version("v2", 0.80), _version("v2", 0.90)
    production = _version("v1", 0.85)
    always = _decide(worse, production, promote="always")
    assert always.promote and not always.passed
    assert always.reason.startswith("promoted because --promote always was given; ") and "got worse" in always.reason
    never = _decide(better, production, promote="never")
    assert not never.promote and never.passed
    assert never.reason.startswith("left a candidate because --promote never was given; ")


def test_missing_key_metric_and_bad_options() -> None:
    decision = _decide(_version("v2", None), _version("v1", 0.85))
    assert not decision.promote and "v2 has no accuracy" in decision.reason
    with pytest.raises(UserError, match="--promote"):
        _decide(_version("v2", 0.9), None, promote="maybe")
    with pytest.raises(UserError, match="--tolerance"):
        decide(_version("v2", 0.9), None, "accuracy", True, tolerance=-1)
    assert DEFAULT_TOLERANCE == 0.01


# -- on a registry, with a real app's manifest (fraud: average_precision, higher is better) --------------------
def _train(value: float, baseline: float = 0.3, promote: str = "gate", fingerprint: str = "same") -> ModelInfo:
    metrics = {"average_precision": value, "baselines": {"logistic": {"average_precision": baseline}}}

    def write(folder: Path) -> None:
        (folder / "model.txt").write_text(str(value))

    return register_trained("fraud", write, metrics=metrics, params={"seed": 42}, data_fingerprint=fingerprint,
                            promote=promote)


def test_train_gate_on_the_registry_says_why_in_one_line(lepton_home: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _train(0.60).stage == "production"
    assert "fraud v1 promoted: " in capsys.readouterr().err
    worse = _train(0.50)
    assert worse.stage == "candidate" and Registry().get("fraud").version == "v1"
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fraud v2 left a candidate: ") and "got worse by 0.1000" in lines[0]
    assert _train(0.605).stage == "production"
    assert _train(0.10).stage == "candidate"  # loses to its baseline
    assert _train(0.20, promote="always").stage == "production"
    assert _train(0.90, promote="never").stage == "candidate"
    assert [i.stage for i in Registry().list("fraud")] == ["candidate", "candidate", "candidate", "candidate",
                                                           "production", "candidate"]


def test_history_keeps_who_when_why_and_both_key_metrics(lepton_home: Path) -> None:
    _train(0.60)
    _train(0.65)
    Registry().rollback("fraud", reason="alerts doubled")
    first, second, back = Registry().history("fraud")
    assert (first.action, first.version, first.previous_version, first.value, first.previous_value) == (
        "promote", "v1", None, 0.60, None)
    assert (second.version, second.previous_version, second.value, second.previous_value) == ("v2", "v1", 0.65, 0.60)
    assert second.metric == "average_precision" and "within the tolerance" in second.reason
    assert (back.action, back.version, back.previous_version, back.reason) == ("rollback", "v1", "v2",
                                                                               "alerts doubled")
    assert back.value == 0.60 and back.previous_value == 0.65
    assert all(r.actor and r.created_at is not None for r in (first, second, back))
    assert back.as_dict()["previous_version"] == "v2"


def test_models_promote_needs_force_and_a_reason_to_pass_the_gate(lepton_home: Path) -> None:
    _train(0.60)
    _train(0.40)  # a candidate: far worse than v1
    with pytest.raises(UserError, match=r"fails the promotion gate.*--force --reason"):
        promote_version("fraud", "v2")
    with pytest.raises(UserError, match="--force needs --reason"):
        promote_version("fraud", "v2", force=True)
    info, message = promote_version("fraud", "v2", force=True, reason="v1 drifted on new merchants", actor="ops-bot")
    assert info.stage == "production" and "forced: v1 drifted on new merchants" in message
    record = Registry().history("fraud")[-1]
    assert (record.version, record.actor, record.previous_version) == ("v2", "ops-bot", "v1")
    assert record.reason.startswith("forced: v1 drifted on new merchants (gate: ")
    info, message = promote_version("fraud", "v1")  # better than production v2: no force needed
    assert info.stage == "production" and "promoted by hand" in message
