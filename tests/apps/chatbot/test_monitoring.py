"""Chatbot monitoring on the logging path: 1,000 in-distribution messages raise no alert, 200 messages from
another domain (gardening and medicine) do.

The tiny model's registered profile is its validation part: held-out bank messages and the built-in
off-topic ones (more than half). In-distribution traffic mixes unseen bank messages and off-topic ones in the
same proportion; each batch is answered by the served predictor and logged as the service logs it.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_shared.testing.env import lepton_env

PLANTS = ("tomato plant", "orchid", "rose bush", "basil", "lemon tree", "fern", "cactus", "lavender")
GARDEN = ("how often should I water my {}", "why are the leaves of my {} turning yellow",
          "when is the best time to prune a {}", "what soil does a {} like")
DRUGS = ("ibuprofen", "paracetamol", "amoxicillin", "aspirin", "antihistamine tablets", "cough syrup")
MEDICINE = ("what is a safe dose of {} for a child", "can I take {} with alcohol",
            "what are the side effects of {}", "is {} safe during pregnancy")


def other_domain() -> list[str]:
    return [t.format(x) for t, x in itertools.chain(itertools.product(GARDEN, PLANTS),
                                                     itertools.product(MEDICINE, DRUGS))]


@pytest.fixture()
def home(trained_home: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the tiny model's home (its database too), so this test's log is its own."""
    copy = tmp_path / "home"
    shutil.copytree(trained_home, copy)
    with lepton_env(copy) as entered:
        from sqlalchemy import delete

        from lepton_shared.storage import PredictionLog, session_scope

        with session_scope() as session:
            session.execute(delete(PredictionLog))
        yield entered


def log_answers(texts: list[str]) -> None:
    """Answer ``texts`` in batches with the production predictor and log them as ``POST /v1/predict`` does."""
    from apps.chatbot.app import APP
    from lepton_shared.serving.prediction_log import insert_rows, log_row

    predictor = APP.load_predictor()
    for start in range(0, len(texts), 100):
        batch = [{"text": t} for t in texts[start:start + 100]]
        outputs = predictor.predict_batch([predictor.InputModel.model_validate(b) for b in batch])
        insert_rows([log_row("chatbot", f"r{start + i}", "/v1/predict", out, body, 5.0)
                     for i, (body, out) in enumerate(zip(batch, outputs, strict=True))])


def in_distribution(n: int, seed: int = 0) -> list[str]:
    from apps.chatbot.config import ChatbotTrainConfig
    from apps.chatbot.data import BUILTIN_PER_INTENT, OOS_LABEL, builtin_frame, builtin_intents, split
    from apps.chatbot.intents import OFF_TOPIC

    tiny, defaults = builtin_frame(tiny=True), ChatbotTrainConfig()
    share_off_topic = (split(tiny, defaults.val_fraction, defaults.seed)[1]["label"] == OOS_LABEL).mean()
    seen = set(tiny["text"])
    unseen = [t for t in builtin_intents(BUILTIN_PER_INTENT)["text"] if t not in seen]
    rng = np.random.default_rng(seed)
    return [str(rng.choice(OFF_TOPIC)) if rng.random() < share_off_topic else str(rng.choice(unseen))
            for _ in range(n)]


def report() -> dict[str, Any]:
    from lepton_shared.monitoring.report import monitor_report

    return monitor_report("chatbot", "1h")


def test_other_domain_messages_raise_an_alert_in_distribution_ones_none(home: Path) -> None:
    from lepton_shared.monitoring import load_profile
    from lepton_shared.registry import Registry

    profile = load_profile(Registry().get("chatbot").path)
    assert profile is not None and set(profile.features) == {"message_words", "intent", "out_of_scope"}
    assert profile.prediction is not None and profile.prediction.kind == "numeric"

    log_answers(in_distribution(1000))
    quiet = report()
    assert quiet["requests"] == 1000
    assert quiet["alerts"] == [], quiet["drift"]

    from sqlalchemy import delete

    from lepton_shared.storage import PredictionLog, session_scope

    with session_scope() as session:
        session.execute(delete(PredictionLog))
    messages = other_domain()
    log_answers([messages[i % len(messages)] for i in range(200)])
    loud = report()
    assert loud["requests"] == 200
    assert loud["alerts"], loud["drift"]
    assert loud["drift"]["prediction"]["alert"] or loud["drift"]["features"]["out_of_scope"]["alert"]
