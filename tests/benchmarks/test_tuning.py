"""The tuning benchmark's Markdown: every measured app gets its section, with the study's and the test figures."""

from __future__ import annotations

from typing import Any

from benchmarks.tuning import _section


def _run(app: str, metrics: dict[str, float], best: float) -> dict[str, Any]:
    study = {"n_trials": 3, "n_complete": 3, "n_pruned": 0, "n_failed": 0, "metric": "accuracy",
             "default_value": 0.9, "best_value": best, "best_trial": 2, "best_params": {"epochs": 3}}
    return {"study": study, "tune": {"wall_s": 60.0, "load_before": 1.0, "load_after": 1.5},
            "default": {"version": "v1", "metrics": metrics}, "tuned": {"version": "v2", "metrics": metrics},
            "train_s": (30.0, 31.0), "commands": [f"lepton {app} tune --json"]}


def test_every_tuned_app_and_fraud_week_has_its_section() -> None:
    fraud = {"roc_auc": 0.9, "average_precision": 0.7, "card_precision_at_100": 0.3}
    tuned = {"recommender": _run("recommender", {"ndcg_at_10": 0.33, "precision_at_10": 0.33}, 0.91),
             "fraud 2018-05-08": {**_run("fraud", fraud, 0.92), "week": "2018-05-08"},
             "fraud 2018-05-01": {**_run("fraud", fraud, 0.93), "week": "2018-05-01"},
             "chatbot": _run("chatbot", {"accuracy": 0.9412, "f1_macro": 0.9398}, 0.94)}
    text = _section(None, tuned)
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### Recommender, built-in shop: tuned against default",
                        "### Fraud, handbook slice, training week 2018-05-01: tuned against default",
                        "### Fraud, handbook slice, training week 2018-05-08: tuned against default",
                        "### Chatbot, BANKING77: tuned against default"]
    assert "| defaults (v1) | 0.9000 (trial 0) | 0.9412 | 0.9398 |" in text
    assert "| tuned (v2) | 0.9400 (trial 2) | 0.9412 | 0.9398 |" in text
