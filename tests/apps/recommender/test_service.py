"""The recommender's HTTP API over real HTTP on loopback, including bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.server import serve_app


@pytest.fixture(scope="module")
def base(trained_home: Path) -> Iterator[str]:
    from apps.recommender.app import APP

    with serve_app(APP.create_service()) as url:
        yield url


def test_user_recommendations_and_history(base: str) -> None:
    resp = httpx.get(f"{base}/v1/users/u1/recommendations", params={"k": 5})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["items"]) == 5 and body["model_version"] == "v1"
    history = httpx.get(f"{base}/v1/users/u1/history").json()["items"]
    assert history and not {h["item_id"] for h in history} & {i["item_id"] for i in body["items"]}
    unknown = httpx.get(f"{base}/v1/users/nobody/recommendations").json()
    assert unknown["strategy"] == "cold_start" and len(unknown["items"]) == 10


def test_session_similar_events_and_model(base: str) -> None:
    resp = httpx.post(f"{base}/v1/recommendations", json={"items": ["i1", "i2", "nope"], "k": 3})
    assert resp.status_code == 200 and resp.json()["unknown_items"] == ["nope"]
    assert len(resp.json()["items"]) == 3
    similar = httpx.get(f"{base}/v1/items/i1/similar", params={"k": 4}).json()
    assert similar["item"]["item_id"] == "i1" and len(similar["similar"]) <= 4
    resp = httpx.post(f"{base}/v1/events", json={"events": [{"user_id": "u1", "item_id": "i9", "weight": 2}]})
    assert resp.status_code == 201 and resp.json() == {"stored": 1}
    model = httpx.get(f"{base}/v1/model").json()
    assert model["metrics"]["ndcg_at_10"] > 0 and model["categories"]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "needle"), [
    ("GET", "/v1/users/u1/recommendations", {"params": {"k": 0}}, 422, "k"),
    ("GET", "/v1/users/u1/recommendations", {"params": {"k": "ten"}}, 422, "k"),
    ("GET", "/v1/users/u1/recommendations", {"params": {"category": "no-such"}}, 400, "unknown category"),
    ("GET", "/v1/items/no-such-item/similar", {}, 404, "unknown item"),
    ("POST", "/v1/recommendations", {"json": {"items": "i1"}}, 422, "items"),
    ("POST", "/v1/recommendations", {"json": {"items": ["i1"], "k": 1000}}, 422, "k"),
    ("POST", "/v1/events", {"json": {"events": []}}, 422, "events"),
    ("POST", "/v1/events", {"json": {"events": [{"user_id": "u", "item_id": "i", "weight": -1}]}}, 422, "weight"),
    ("POST", "/v1/events", {"content": b"{broken", "headers": {"content-type": "application/json"}}, 422, ""),
])
def test_bad_input_gets_4xx_with_a_message(base: str, method: str, path: str, kwargs: dict, status: int,
                                           needle: str) -> None:
    resp = httpx.request(method, f"{base}{path}", **kwargs)
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, str) and detail and needle in detail
    assert "Traceback" not in resp.text


def test_bad_events_are_not_half_written(base: str) -> None:
    from sqlalchemy import func, select

    from apps.recommender.storage import RecommenderEvent
    from lepton_shared.storage import session_scope

    def count() -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(RecommenderEvent)) or 0)

    before = count()
    resp = httpx.post(f"{base}/v1/events", json={"events": [{"user_id": "u", "item_id": "i"},
                                                            {"user_id": "u", "item_id": "", "weight": 1}]})
    assert resp.status_code == 422
    assert count() == before


def test_service_without_a_model_answers_503(lepton_home: Path) -> None:
    from apps.recommender.app import APP

    with serve_app(APP.create_service()) as url:
        resp = httpx.get(f"{url}/v1/users/u1/recommendations")
        assert resp.status_code == 503 and "recommender train" in resp.json()["detail"]
        assert httpx.get(f"{url}/healthz").status_code == 200
