"""The chatbot's tuner passes the tuner contract on the tiny bank (one epoch a trial; the pruned one would run two)."""

from __future__ import annotations

from typing import Any, ClassVar

from apps.chatbot.config import ChatbotTrainConfig
from lepton_shared.testing.tuning import TunerContract


class TestChatbotTuner(TunerContract):
    app_name: ClassVar[str] = "chatbot"
    pruned_params: ClassVar[dict[str, Any] | None] = {
        "encoder_lr": 8e-5, "head_lr": 3e-3, "label_smoothing": 0.1, "neighbour_temperature": 0.05, "epochs": 2}

    def tiny_config(self) -> ChatbotTrainConfig:
        return ChatbotTrainConfig(tiny=True, epochs=1, device="cpu", threads=1)
