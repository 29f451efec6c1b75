"""The TF-IDF + logistic-regression baseline stored and scored beside the intent model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apps.chatbot.baselines import (
    BASELINE_FILE,
    BASELINE_META,
    BASELINE_NAME,
    LEGACY_FILE,
    baseline_metrics,
    fit_baseline,
    load_baseline,
    save_baseline,
)
from apps.chatbot.data import builtin_intents, split
from lepton_shared.errors import UserError


def test_baseline_learns_the_demo_bank_and_round_trips(tmp_path: Path) -> None:
    train, val = split(builtin_intents(12), 0.25, 0)
    pipeline = fit_baseline(train)
    scores = baseline_metrics(pipeline, val)
    assert scores["accuracy"] > 0.6  # 28 intents: chance is under 0.04
    assert 0.0 <= scores["f1_macro"] <= 1.0
    save_baseline(pipeline, tmp_path)
    loaded = load_baseline(tmp_path)
    assert baseline_metrics(loaded, val) == scores
    texts = val["text"].tolist()
    assert np.array_equal(loaded.predict_proba(texts), pipeline.predict_proba(texts))
    assert load_baseline(tmp_path / "missing") is None


def test_baseline_is_stored_without_pickles(tmp_path: Path) -> None:
    """Write access to the model store must not mean code execution in the service."""
    train, _ = split(builtin_intents(6), 0.25, 0)
    save_baseline(fit_baseline(train), tmp_path)
    with np.load(tmp_path / BASELINE_FILE, allow_pickle=False) as saved:  # raises on any object array
        assert {"coef", "intercept", "terms0", "idf0", "terms1", "idf1"} <= set(saved.files)
    json.loads((tmp_path / BASELINE_META).read_text())
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / LEGACY_FILE).write_bytes(b"\x80\x04 not loaded")
    with pytest.raises(UserError, match="retrain"):
        load_baseline(legacy)


def test_out_of_scope_rows_are_not_scored() -> None:
    train, _ = split(builtin_intents(8), 0.25, 0)
    only_oos = pd.DataFrame({"text": ["what is the weather like"], "label": ["oos"]})
    assert baseline_metrics(fit_baseline(train), only_oos) == {}


def test_trained_model_reports_its_baseline_in_train_and_evaluate(trained_home: Path) -> None:
    from apps.chatbot.app import APP
    from apps.chatbot.config import ChatbotEvaluateConfig
    from lepton_shared.registry import Registry
    from lepton_shared.testing.env import lepton_env

    with lepton_env(trained_home):
        info = Registry().get("chatbot")
        assert 0.0 <= info.metrics["baselines"][BASELINE_NAME]["accuracy"] <= 1.0
        out = APP.evaluate(ChatbotEvaluateConfig())
    assert set(out["baselines"][BASELINE_NAME]) == {"accuracy", "f1_macro"}
    json.dumps(out)  # evaluate --json prints it as one object
