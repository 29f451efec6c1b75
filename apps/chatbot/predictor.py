"""``ChatbotPredictor``: message -> intent, confidence, out-of-scope flag (pure, no writes)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, Field

from apps.chatbot.ensemble import IntentScorer
from apps.chatbot.faq import FaqIndex
from apps.chatbot.model import infer, load_model
from lepton_shared.registry import ModelInfo
from lepton_shared.serving import Predictor, RequestModel
from lepton_shared.serving.threads import blas_threads

MAX_MESSAGE_CHARS = 1000


def serving_threads() -> int:
    """Torch CPU threads for answering messages: 1 unless ``LEPTON_CHATBOT_THREADS`` says otherwise.

    One message through the 6-layer MiniLM is too little work to split over OpenMP
    threads, and concurrent requests already run in parallel in the service's thread
    pool. With torch's default (one thread per core) the threads of concurrent or
    neighbouring work spin against each other: measured on the shared 2-core machine,
    one message took p50 270-390 ms with 2 threads and 29 ms with 1.
    """
    import os

    try:
        return max(1, int(os.environ.get("LEPTON_CHATBOT_THREADS", "1")))
    except ValueError:
        return 1


class MessageIn(RequestModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="one customer message",
                      examples=["My new card has not arrived yet"])


class ChatbotPredictor(Predictor):
    app_name: ClassVar[str] = "chatbot"
    InputModel: ClassVar[type[BaseModel]] = MessageIn

    def __init__(self, info: ModelInfo, device: str | None = None) -> None:
        """``device``: auto | cpu | cuda; None means the ``LEPTON_DEVICE`` setting (auto: the GPU when present)."""
        import json

        from lepton_shared.serving.device import serving_device

        super().__init__(info.version)
        self.threads = serving_threads()
        self.device = serving_device(device)
        self.tokenizer, self.model, config = load_model(info.path, self.device)
        self.labels: list[str] = list(config["labels"])
        self.threshold = float(config["oos_threshold"])
        self.scorer = IntentScorer.load(info.path, config)
        self.faq = FaqIndex.load(info.path, float(config.get("faq_threshold", 0.8)))
        policies_path = info.path / "policies.json"
        self.policies: dict[str, dict[str, Any]] = (json.loads(policies_path.read_text())
                                                    if policies_path.exists() else {})

    def analyse(self, texts: list[str]) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Answers plus L2-normalised sentence embeddings (the conversation layer uses them for FAQ lookup)."""
        if torch.get_num_threads() != self.threads:  # per worker thread: OpenMP settings are thread-local
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            logits, embeddings = infer(self.model, self.tokenizer, texts, device=self.device)
        if len(texts) > 1:  # a batch: numpy's BLAS would use every core for a tiny product, see blas_threads
            with blas_threads(self.threads):
                proba, oos_scores = self.scorer.score(logits, embeddings, texts)
        else:
            proba, oos_scores = self.scorer.score(logits, embeddings, texts)
        out = []
        for row, oos_score in zip(proba, oos_scores, strict=True):
            i = int(row.argmax())
            out.append({"intent": self.labels[i], "confidence": round(float(row[i]), 6),
                        "out_of_scope": bool(oos_score < self.threshold), "model_version": self.version})
        return out, embeddings

    def predict_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        return self.analyse([item.text for item in items])[0]

    @classmethod
    def example_input(cls) -> dict[str, Any]:
        return {"text": "My new card has not arrived yet"}
