"""The seeds benchmark: its table and target verdicts on hand-made results, and which homes it reuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.seeds import SPECS, section, trained_here


def _chatbot(seed: int, accuracy: float) -> dict[str, Any]:
    return {"app": "chatbot", "seed": seed, "version": "v1", "reused": False, "load": 1.0,
            "trained": {"metrics": {"accuracy": 0.93, "head_only_accuracy": 0.92, "neighbour_weight": 0.0,
                                    "text_weight": 0.6, "train_seconds": 700.0}, "params": {}},
            "evaluate": {"accuracy": accuracy, "f1_macro": accuracy - 0.001}}


def test_a_target_is_met_or_missed_on_the_figure_it_names() -> None:
    text = section(SPECS["chatbot"], [_chatbot(2, 0.950), _chatbot(1, 0.939), _chatbot(3, 0.948)], "../shared")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| seed")]
    assert [row.split(" | ")[0] for row in rows] == ["| 1", "| 2", "| 3", "| mean", "| sd"]
    assert rows[0].startswith("| 1 | 0.9390 | 0.9380 | 0.9300 | 0.9200 | 0.0000 / 0.6000 | 700 |")
    assert "- test accuracy, mean >= 0.945: 0.9457, **met**" in text
    assert "- test accuracy, worst >= 0.94: 0.9390, **missed**" in text
    assert "lepton chatbot train --data ../shared/datasets/banking77/train.csv --seed S --promote always" in text


def test_lower_is_better_targets_judge_the_largest_value() -> None:
    def seed(s: int, ece: float) -> dict[str, Any]:
        return {"seed": s, "trained": {"metrics": {}}, "load": None,
                "evaluate": {"roc_auc": 0.98, "ece": ece, "accuracy_at_threshold": 0.92,
                             "sensitivity_at_threshold": 0.96}}

    text = section(SPECS["imaging"], [seed(1, 0.02), seed(2, 0.035)], "../shared")
    assert "- test ECE, every seed <= 0.03: 0.0350, **missed**" in text
    assert "- test ROC AUC, mean >= 0.975: 0.9800, **met**" in text
    assert "load average when scored: not recorded" in text


def test_only_a_model_of_the_same_file_and_seed_is_reused(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    info = {"params": {"source": str(data), "seed": 2}}
    assert trained_here(info, data, 2)
    assert not trained_here(info, data, 3)
    assert not trained_here(info, tmp_path / "other.csv", 2)
    assert not trained_here(None, data, 2)
    assert trained_here({"params": {"data": str(data), "seed": 2}}, data, 2)  # imaging names its file "data"
