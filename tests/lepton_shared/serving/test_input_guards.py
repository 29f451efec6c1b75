"""The service shell refuses hostile input with a readable 4xx: non-finite numbers, chunked bodies over the
limit, oversized or unsafe request ids."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from lepton_shared.serving import create_app
from lepton_shared.storage import PredictionLog, session_scope
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.example import example_service, register_example
from lepton_shared.testing.server import eventually, serve_app

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


class Counts(BaseModel):
    """A plain pydantic body: an int field that a non-finite float fails with that float as its input."""

    n: int


router = APIRouter(prefix="/v1")


@router.post("/count")
def count(body: Counts) -> dict[str, int]:
    return {"n": body.n}


@pytest.fixture()
def home(tmp_path: Path) -> Iterator[Path]:
    with lepton_env(tmp_path / "home", api_token=TOKEN, max_request_bytes="2048") as h:
        register_example(epochs=1)
        yield h


@pytest.fixture()
def base(home: Path) -> Iterator[str]:
    with serve_app(example_service()) as url:
        yield url


@pytest.mark.parametrize("number", NON_FINITE)
def test_non_finite_numbers_are_422_with_a_message(base: str, number: str) -> None:
    resp = httpx.post(f"{base}/v1/predict", content=f'{{"x0": {number}, "x1": 1}}', headers=JSON)
    assert resp.status_code == 422, resp.text
    assert "x0" in resp.json()["detail"] and "finite" in resp.json()["detail"]


@pytest.mark.parametrize("number", NON_FINITE)
def test_validation_errors_never_echo_a_value_json_cannot_hold(home: Path, number: str) -> None:
    with serve_app(create_app("guards", routers=[router])) as url:
        resp = httpx.post(f"{url}/v1/count", content=f'{{"n": {number}}}', headers=JSON)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["detail"].startswith("n: ") and isinstance(body["errors"][0]["input"], str)


def test_chunked_body_over_the_limit_is_413(base: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x0": 1, "x1": 1, "pad": "'
        for _ in range(8):
            yield b" " * 512
        yield b'"}'

    resp = httpx.post(f"{base}/v1/predict", content=chunks(), headers=JSON)
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413 and "too large" in resp.json()["detail"]
    small = httpx.post(f"{base}/v1/predict", content=iter([b'{"x0": 1, ', b'"x1": 1}']), headers=JSON)
    assert small.status_code == 200


@pytest.mark.parametrize(("given", "kept"), [
    ("abc-123_X.y:z", True),
    ("Root=1-67891233-abcdef012345678912345678", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("x" * 10_000, False),
    ("two words", False),
    ('{"json": 1}', False),
    ("", False),
])
def test_request_ids_are_kept_only_when_short_and_safe(base: str, given: str, kept: bool) -> None:
    resp = httpx.post(f"{base}/v1/predict", json={"x0": 1, "x1": 1}, headers={**AUTH, "X-Request-ID": given})
    assert resp.status_code == 200
    rid = resp.headers["x-request-id"]
    if kept:
        assert rid == given
    else:
        assert rid != given and len(rid) == 32 and rid.isalnum()

    def logged() -> list[PredictionLog]:
        with session_scope() as session:
            return list(session.scalars(select(PredictionLog).where(PredictionLog.request_id == rid)))

    assert len(eventually(logged, bool)) == 1
