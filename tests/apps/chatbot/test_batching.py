"""The chatbot serves on LEPTON_DEVICE and micro-batches /v1/predict and /v1/chat by default: concurrent
requests get the answers they would get one at a time, in fewer forward passes."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest
import torch

from lepton_shared.errors import UserError
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MESSAGES = [
    "My new card has not arrived yet", "I lost my card", "How do I reset my password?", "Hello",
    "What is the exchange rate today?", "Can I speak to a real person please?", "my transfer is pending",
    "Why was I charged a fee?", "where is my refund", "I want to close my account", "what's the weather",
    "Please block my card, it was stolen", "How long does a transfer take?", "thanks, bye",
    "Can I change my PIN?", "Is there a fee for cash withdrawals?", "my top up failed", "recommend a movie",
    "I forgot my passcode", "The app shows the wrong balance",
]


def test_predictor_follows_lepton_device(trained_home: Path) -> None:
    from apps.chatbot.app import APP

    with lepton_env(trained_home, device="cpu"):
        predictor = APP.load_predictor()
        assert predictor.device == torch.device("cpu")
        assert next(predictor.model.parameters()).device == torch.device("cpu")
    with lepton_env(trained_home, device="tpu"), pytest.raises(UserError, match="LEPTON_DEVICE"):
        APP.load_predictor()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_answers_match_the_cpu(trained_home: Path) -> None:
    from apps.chatbot.predictor import ChatbotPredictor
    from lepton_shared.registry import Registry

    with lepton_env(trained_home, device="auto"):
        info = Registry().get("chatbot")
        gpu = ChatbotPredictor(info)
        assert gpu.device.type == "cuda" and next(gpu.model.parameters()).is_cuda
        cpu = ChatbotPredictor(info, device="cpu")
        for got, want in zip(gpu.analyse(MESSAGES)[0], cpu.analyse(MESSAGES)[0], strict=True):
            assert got["intent"] == want["intent"]
            assert got["confidence"] == pytest.approx(want["confidence"], abs=2e-3)


def _concurrently(fn, items: list) -> list:  # type: ignore[no-untyped-def]
    with concurrent.futures.ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(fn, items))


def test_concurrent_requests_are_batched_with_unbatched_answers(trained_home: Path) -> None:
    from apps.chatbot.app import APP

    with lepton_env(trained_home, api_token=TOKEN):
        app = APP.create_service()
        state = app.state.lepton
        assert state.batching.enabled  # on by default for the chatbot
        with serve_app(app) as base, httpx.Client(headers=AUTH, timeout=120) as client:
            predicted = _concurrently(lambda m: client.post(f"{base}/v1/predict", json={"text": m}), MESSAGES)
            chats = _concurrently(lambda m: client.post(f"{base}/v1/chat", json={"message": m}), MESSAGES)
        assert all(r.status_code == 200 for r in predicted + chats), [r.text for r in predicted + chats][:2]
        predictor = state.predictor
        for message, resp, chat in zip(MESSAGES, predicted, chats, strict=True):
            want = predictor.predict(predictor.InputModel(text=message))  # one at a time, unbatched
            for got in (resp.json(), chat.json()):
                assert got["intent"] == want["intent"], message
                assert got["confidence"] == pytest.approx(want["confidence"], abs=1e-4), message
                assert got["out_of_scope"] == want["out_of_scope"], message
        assert state.batcher.batches_run < len(MESSAGES)
        assert state.batchers["/v1/chat"].batches_run < len(MESSAGES)


def test_batching_can_be_turned_off(trained_home: Path) -> None:
    from apps.chatbot.app import APP

    with lepton_env(trained_home, api_token=TOKEN, micro_batch="false"):
        app = APP.create_service()
        with serve_app(app) as base, httpx.Client(headers=AUTH, timeout=120) as client:
            assert client.post(f"{base}/v1/predict", json={"text": "I lost my card"}).status_code == 200
            assert client.post(f"{base}/v1/chat", json={"message": "I lost my card"}).status_code == 200
        assert app.state.lepton.batcher is None and not app.state.lepton.batchers
