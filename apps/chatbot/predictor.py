"""``ChatbotPredictor``: message -> intent, confidence, out-of-scope flag (pure, no writes)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from apps.chatbot.faq import FaqIndex
from apps.chatbot.model import infer, load_model, softmax
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor

MAX_MESSAGE_CHARS = 1000


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="one customer message",
                      examples=["My new card has not arrived yet"])


class ChatbotPredictor(Predictor):
    app_name: ClassVar[str] = "chatbot"
    InputModel: ClassVar[type[BaseModel]] = MessageIn

    def __init__(self, info: ModelInfo) -> None:
        import json

        super().__init__(info.version)
        self.tokenizer, self.model, config = load_model(info.path)
        self.labels: list[str] = list(config["labels"])
        self.threshold = float(config["oos_threshold"])
        self.faq = FaqIndex.load(info.path, float(config.get("faq_threshold", 0.8)))
        policies_path = info.path / "policies.json"
        self.policies: dict[str, dict[str, Any]] = (json.loads(policies_path.read_text())
                                                    if policies_path.exists() else {})

    def analyse(self, texts: list[str]) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Answers plus L2-normalised sentence embeddings (the conversation layer uses them for FAQ lookup)."""
        with torch.inference_mode():
            logits, embeddings = infer(self.model, self.tokenizer, texts, device=torch.device("cpu"))
        proba = softmax(logits)
        out = []
        for row in proba:
            i = int(row.argmax())
            confidence = float(row[i])
            out.append({"intent": self.labels[i], "confidence": round(confidence, 6),
                        "out_of_scope": confidence < self.threshold, "model_version": self.version})
        return out, embeddings

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        return self.analyse([item.text for item in items])[0]

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"text": "My new card has not arrived yet"}
