"""Training artifacts, the stored threshold, evaluation with out-of-scope rows, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from apps.chatbot.config import ChatbotEvaluateConfig
from apps.chatbot.data import builtin_intents, builtin_off_topic


def test_artifact_holds_model_threshold_faq_and_report(trained_env: Path) -> None:
    from lepton_shared.registry import Registry

    info = Registry().get("chatbot")
    names = {p.name for p in info.path.iterdir()}
    assert {"encoder", "head.pt", "intent_config.json", "faq.csv", "faq_embeddings.npy", "policies.json",
            "report.html"} <= names
    config = json.loads((info.path / "intent_config.json").read_text())
    assert len(config["labels"]) == 28 and 0.0 <= config["oos_threshold"] < 1.0
    assert config["oos_threshold"] == info.metrics["oos_threshold"]
    assert {"accuracy", "f1_macro", "in_scope_accuracy", "oos_recall", "train_seconds"} <= set(info.metrics)
    # the threshold may cost at most 1 point of validation accuracy
    assert info.metrics["in_scope_accuracy"] >= info.metrics["accuracy"] - 0.01 - 1e-9
    # the blend weights were chosen on validation data and are stored with the model, with the neighbours
    # (they also give the out-of-scope score) and the TF-IDF model
    from apps.chatbot.ensemble import SIMILARITY, TEXT_WEIGHTS, VOTE_WEIGHTS

    assert config["neighbour_weight"] == info.metrics["neighbour_weight"] in VOTE_WEIGHTS
    assert config["text_weight"] == info.metrics["text_weight"] in TEXT_WEIGHTS
    assert config["oos_score"] == info.metrics["oos_score"] == SIMILARITY
    assert {"neighbours.npz", "baseline.npz", "baseline.json"} <= names
    assert "<img" in (info.path / "report.html").read_text()


def test_tiny_model_learns_something(trained_env: Path) -> None:
    from apps.chatbot.app import APP

    predictor = APP.load_predictor()
    texts = builtin_intents()["text"].tolist()[::7]
    labels = builtin_intents()["label"].tolist()[::7]
    out = predictor.analyse(texts)[0]
    accuracy = sum(o["intent"] == y for o, y in zip(out, labels, strict=True)) / len(texts)
    assert accuracy > 3 / 28  # well above chance after two tiny epochs


def test_evaluate_reports_oos_metrics(trained_env: Path, tmp_path: Path) -> None:
    from apps.chatbot.training import evaluate

    path = tmp_path / "eval.csv"
    pd.concat([builtin_intents().iloc[::9], builtin_off_topic()]).to_csv(path, index=False)
    metrics = evaluate(ChatbotEvaluateConfig(data=path))
    assert {"accuracy", "f1_macro", "in_scope_accuracy", "oos_recall"} <= set(metrics)
    assert 0.0 <= metrics["oos_recall"] <= 1.0
    path.write_text("text,label\nhello,not_an_intent_of_this_model\n")
    from lepton_shared.errors import UserError

    with pytest.raises(UserError, match="does not know"):
        evaluate(ChatbotEvaluateConfig(data=path))


@pytest.mark.parametrize(("content", "needle"), [
    ("", "empty"),
    ("a,b\n1,2\n", "expected text,label"),
    ("text,label\nhi,greeting\nhey,greeting\nbye,goodbye\n", "fewer than 5"),
])
def test_cli_train_bad_file_is_one_line(tmp_path: Path, content: str, needle: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_shared.cli.main import main
    from lepton_shared.testing.env import lepton_env

    path = tmp_path / "bad.csv"
    path.write_text(content)
    with lepton_env(tmp_path / "home") as home, pytest.raises(SystemExit) as exit_info:
        main(["chatbot", "train", "--data", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (home / "models" / "chatbot").exists() or not any(
        p.name.startswith("v") for p in (home / "models" / "chatbot").iterdir())
