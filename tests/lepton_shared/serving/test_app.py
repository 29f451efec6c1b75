"""The service shell over real HTTP, with the example model."""

import concurrent.futures
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from lepton_shared.storage import PredictionLog, session_scope
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import example_service, register_example
from lepton_shared.testing.server import eventually, serve_app

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def home(tmp_path: Path):
    with lepton_env(tmp_path / "home", api_token=TOKEN, max_request_bytes="2048") as h:
        yield h


def test_not_ready_until_a_model_exists(home: Path) -> None:
    with serve_app(example_service()) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503 and "lepton example train" in ready.json()["reason"]
        resp = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}, headers=AUTH)
        assert resp.status_code == 503
        register_example(epochs=2)
        assert httpx.post(f"{base}/v1/admin/reload", headers=AUTH).json() == {"model_version": "v1"}
        assert httpx.get(f"{base}/readyz").json()["model_version"] == "v1"


def test_end_to_end_predictions_auth_and_errors(home: Path) -> None:
    register_example(epochs=3)
    with serve_app(example_service()) as base:
        assert httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}).status_code == 401
        assert httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1},
                          headers={"Authorization": "Bearer nope"}).status_code == 401
        assert httpx.get(f"{base}/metrics").status_code == 401
        ok = httpx.post(f"{base}/v1/predict", json={"x0": 2, "x1": 2}, headers={**AUTH, "X-Request-ID": "abc"})
        assert ok.status_code == 200 and ok.json()["label"] == 1 and ok.headers["x-request-id"] == "abc"
        neg = httpx.post(f"{base}/v1/predict", json={"x0": -2, "x1": -2}, headers=AUTH).json()
        assert neg["label"] == 0 and neg["probability"] < 0.5
        bad = httpx.post(f"{base}/v1/predict", json={"x0": "high"}, headers=AUTH)
        assert bad.status_code == 422 and "x0" in bad.json()["detail"] and "x1" in bad.json()["detail"]
        extra = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1, "x2": 3}, headers=AUTH)
        assert extra.status_code == 422 and "x2" in extra.json()["detail"]
        big = httpx.post(f"{base}/v1/predict", content=b"{" + b" " * 4096 + b"}", headers=AUTH)
        assert big.status_code == 413 and "too large" in big.json()["detail"]
        metrics = httpx.get(f"{base}/metrics", headers=AUTH).text
        assert 'lepton_requests_total{app="example",path="/v1/predict",status="200"}' in metrics
        assert httpx.get(f"{base}/openapi.json").json()["paths"]["/v1/predict"]

    def logged() -> list[PredictionLog]:
        with session_scope() as session:
            return list(session.scalars(select(PredictionLog).where(PredictionLog.request_id == "abc")))

    rows = eventually(logged, bool)
    assert len(rows) == 1 and rows[0].output["label"] == 1 and len(rows[0].input_hash) == 64


def test_micro_batching_groups_concurrent_requests(home: Path) -> None:
    register_example(epochs=2)
    app = example_service(micro_batch=True)
    with serve_app(app) as base, httpx.Client(headers=AUTH) as client:
        def call(i: int) -> dict:
            return client.post(f"{base}/v1/predict", json={"x0": float(i), "x1": float(i)}).json()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(call, range(-16, 16)))
    assert [r["label"] for r in results] == [int(i > 0) for i in range(-16, 16)]
    batcher = app.state.lepton.batcher
    assert batcher is not None and batcher.batches_run < 32


def test_answers_are_encoded_once_as_compact_json_and_odd_values_still_encode() -> None:
    """``POST /v1/predict``'s response class: ``json.dumps`` straight from the answer (no validation and
    ``jsonable_encoder`` copy first), UTF-8 text kept, and a datetime still answered as ISO text."""
    import json
    from datetime import UTC, datetime

    from lepton_shared.serving.app import AnswerResponse

    answer = {"label": "café", "confidence": 0.25, "model_version": "v1", "at": datetime(2026, 12, 1, tzinfo=UTC)}
    body = AnswerResponse(answer).body
    assert body == '{"label":"café","confidence":0.25,"model_version":"v1","at":"2026-12-01T00:00:00+00:00"}'.encode()
    assert json.loads(body)["confidence"] == 0.25
    with pytest.raises(ValueError):
        AnswerResponse({"score": float("nan")})  # not valid JSON: a 500, as before, never a bare NaN
