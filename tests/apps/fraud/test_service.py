"""The fraud HTTP API over real HTTP: scoring, side effects, labels, queue, and bad input."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.server import serve_app

AUTH = {"Authorization": "Bearer t0ken"}
TX = {"transaction_id": "a1", "tx_datetime": "2018-05-20T14:32:00", "customer_id": 5, "terminal_id": 9,
      "tx_amount": 40.0}


@pytest.fixture()
def service(trained_home: Path) -> Iterator[str]:
    from apps.fraud.app import APP

    with serve_app(APP.create_service()) as base:
        yield base


def post(base: str, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, headers=AUTH, timeout=30)


def test_predict_has_no_side_effects_and_score_records(service: str) -> None:
    from datetime import datetime

    from apps.fraud.features import FEATURES, FeatureConfig
    from apps.fraud.storage import features_for
    from lepton_shared.storage import session_scope

    def today_count() -> float:
        with session_scope() as session:
            row = features_for(session, TX["customer_id"], TX["terminal_id"], TX["tx_amount"],
                               datetime.fromisoformat(TX["tx_datetime"]), FeatureConfig())
        return float(row[FEATURES.index("CUSTOMER_ID_NB_TX_1DAY_WINDOW")])

    first = post(service, "/v1/predict", TX).json()
    again = post(service, "/v1/predict", TX).json()
    assert today_count() == 1  # predicting left no trace
    assert first == again and first["decision"] in ("approve", "review", "decline")
    scored = post(service, "/v1/score", TX).json()
    assert scored["score"] == first["score"]  # same history before it
    assert today_count() == 2  # the recorded transaction is now part of the customer's day
    dup = post(service, "/v1/score", TX)
    assert dup.status_code == 409 and "already scored" in dup.json()["detail"]


def test_score_logs_with_its_transaction_and_not_on_error(service: str) -> None:
    """The prediction log is written in the scoring transaction: one row per recorded score, none when
    the score is rejected (its rows are rolled back, so must its log be)."""
    from sqlalchemy import func, select

    from lepton_shared.storage import PredictionLog, session_scope

    def logged() -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(PredictionLog)
                                      .where(PredictionLog.endpoint == "/v1/score")) or 0)

    assert post(service, "/v1/score", {**TX, "transaction_id": "log-1"}).status_code == 200
    assert logged() == 1
    assert post(service, "/v1/score", {**TX, "transaction_id": "log-1"}).status_code == 409
    assert logged() == 1


def test_model_route_names_version_kind_and_policy(service: str) -> None:
    body = httpx.get(f"{service}/v1/model", headers=AUTH).json()
    assert body["model_version"] == "v1" and body["kind"] == "lightgbm"
    assert body["policy"] == {"chargeback_fee": 15.0, "review_cost": 5.0, "decline_cost": 40.0, "rules": []}


def test_alerts_queue_labels_and_dashboard(service: str) -> None:
    big = {**TX, "transaction_id": "big", "tx_amount": 5000.0}
    answer = post(service, "/v1/score", big).json()
    assert answer["decision"] in ("review", "decline")
    assert answer["reasons"] and all(r["contribution"] > 0 for r in answer["reasons"])
    queue = httpx.get(f"{service}/v1/review-queue", headers=AUTH).json()["items"]
    assert [i["transaction_id"] for i in queue] == ["big"]
    stored = post(service, "/v1/labels", {"labels": [{"transaction_id": "big", "label": "fraud",
                                                       "source": "analyst"}]}).json()
    assert stored["stored"][0]["label"] == "fraud"
    assert httpx.get(f"{service}/v1/review-queue", headers=AUTH).json()["items"] == []
    day = httpx.get(f"{service}/v1/dashboard", headers=AUTH).json()["days"][0]
    assert day["alerts"] == 1 and day["labelled_frauds"] == 1 and day["alert_precision"] == 1.0


def test_labels_feed_delayed_terminal_risk_and_retraining(service: str) -> None:
    from apps.fraud.storage import feedback_frame

    post(service, "/v1/score", {**TX, "transaction_id": "f1"})
    post(service, "/v1/labels", {"labels": [{"transaction_id": "f1", "label": "fraud", "source": "chargeback"}]})
    same_week = post(service, "/v1/predict", {**TX, "tx_datetime": "2018-05-22T10:00:00"}).json()
    after_delay = post(service, "/v1/predict", {**TX, "tx_datetime": "2018-05-27T10:00:00"}).json()
    assert after_delay["score"] > same_week["score"]  # the terminal's fraud is known 7 days later
    frame = feedback_frame()
    assert list(frame["TX_FRAUD"]) == [1] and frame["TERMINAL_ID"].iloc[0] == 9
    # relabelling as legit takes the fraud back out of the terminal's counts
    post(service, "/v1/labels", {"labels": [{"transaction_id": "f1", "label": "legit"}]})
    cleared = post(service, "/v1/predict", {**TX, "tx_datetime": "2018-05-27T10:00:00"}).json()
    assert cleared["score"] < after_delay["score"]


def test_batch_scores_in_order_and_is_all_or_nothing(service: str) -> None:
    batch = [{**TX, "transaction_id": f"b{i}", "tx_amount": 10.0 + i} for i in range(5)]
    resp = post(service, "/v1/score/batch", {"transactions": batch})
    assert resp.status_code == 200
    assert [r["transaction_id"] for r in resp.json()["results"]] == [f"b{i}" for i in range(5)]
    again = post(service, "/v1/score/batch", {"transactions": [{**TX, "transaction_id": "new"}, batch[0]]})
    assert again.status_code == 409
    label = post(service, "/v1/labels", {"labels": [{"transaction_id": "new", "label": "fraud"}]})
    assert label.status_code == 404  # "new" was rolled back with the failing batch
    twice = post(service, "/v1/score/batch", {"transactions": [{**TX, "transaction_id": "z"}] * 2})
    assert twice.status_code == 400 and "twice" in twice.json()["detail"]


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/score", {**TX, "tx_amount": -3}),
    ("/v1/score", {**TX, "tx_datetime": "not a date"}),
    ("/v1/score", {**TX, "customer_id": "abc"}),
    ("/v1/score", {k: v for k, v in TX.items() if k != "terminal_id"}),
    ("/v1/score", {**TX, "surprise": 1}),
    ("/v1/predict", {**TX, "tx_amount": "lots"}),
    ("/v1/score/batch", {"transactions": []}),
    ("/v1/labels", {"labels": [{"transaction_id": "x", "label": "maybe"}]}),
])
def test_bad_input_is_a_4xx_with_a_message(service: str, path: str, body: object) -> None:
    resp = post(service, path, body)
    assert resp.status_code == 422, resp.text
    assert isinstance(resp.json()["detail"], str) and resp.json()["detail"]


def test_unknown_transaction_label_is_404(service: str) -> None:
    resp = post(service, "/v1/labels", {"labels": [{"transaction_id": "nope", "label": "fraud"}]})
    assert resp.status_code == 404 and "nope" in resp.json()["detail"]


def test_auth_is_required(service: str) -> None:
    assert httpx.post(f"{service}/v1/score", json=TX).status_code == 401
    assert httpx.get(f"{service}/v1/review-queue").status_code == 401


def test_no_model_is_503_with_a_message(tmp_path: Path) -> None:
    from apps.fraud.app import APP
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "empty"), serve_app(APP.create_service()) as base:
        resp = httpx.post(f"{base}/v1/score", json=TX)
        assert resp.status_code == 503 and "lepton fraud train" in resp.json()["detail"]


def test_labelled_served_transactions_join_the_next_retrain(service: str) -> None:
    from apps.fraud.data import load_data

    post(service, "/v1/score", {**TX, "transaction_id": "r1", "tx_amount": 999.0})
    post(service, "/v1/labels", {"labels": [{"transaction_id": "r1", "label": "fraud", "source": "chargeback"}]})
    plain, _ = load_data(None, tiny=True, seed=0)
    merged, source = load_data(None, tiny=True, seed=0, with_feedback=True)
    assert len(merged) == len(plain) + 1 and "1 labelled served" in source
    added = merged[merged["TX_AMOUNT"] == 999.0]
    assert list(added["TX_FRAUD"]) == [1] and added["TRANSACTION_ID"].is_unique


def _raw(base: str, path: str, text: str) -> httpx.Response:
    return httpx.post(f"{base}{path}", content=text, headers={**AUTH, "Content-Type": "application/json"},
                      timeout=30)


@pytest.mark.parametrize("path", ["/v1/score", "/v1/predict"])
@pytest.mark.parametrize(("field", "value"), [
    ("tx_amount", "NaN"), ("tx_amount", "Infinity"), ("tx_amount", "-Infinity"), ("tx_amount", "1e400"),
    ("customer_id", str(2**64)), ("terminal_id", str(10**30)), ("customer_id", str(2**63)),
])
def test_non_finite_amounts_and_ids_beyond_64_bits_are_422(service: str, path: str, field: str,
                                                            value: str) -> None:
    fields = ", ".join(f'"{k}": {value if k == field else json.dumps(v)}' for k, v in TX.items())
    resp = _raw(service, path, "{" + fields + "}")
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["detail"]
    batch = _raw(service, "/v1/score/batch", '{"transactions": [{' + fields + "}]}")
    assert batch.status_code == 422 and field in batch.json()["detail"]


def test_the_largest_64_bit_ids_are_scored(service: str) -> None:
    resp = post(service, "/v1/score", {**TX, "transaction_id": "max", "customer_id": 2**63 - 1,
                                       "terminal_id": 2**63 - 1})
    assert resp.status_code == 200, resp.text


def test_concurrent_scores_of_one_transaction_record_it_once(service: str) -> None:
    """50 requests race the already-scored check: one is recorded, every other one is a 409, none a 500."""
    from sqlalchemy import func, select

    from apps.fraud.tables import Transaction
    from lepton_shared.storage import session_scope

    body = {**TX, "transaction_id": "race"}
    with httpx.Client(headers=AUTH, timeout=60) as client, concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: client.post(f"{service}/v1/score", json=body), range(50)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 49, str(codes)
    assert all("already scored" in a.json()["detail"] for a in answers if a.status_code == 409)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Transaction)
                              .where(Transaction.transaction_id == "race")) == 1


def test_replayed_stream_fills_the_review_queue_and_can_be_replayed(service: str) -> None:
    """The page's replay: the simulated stream scored and recorded in time order (its customers' and terminals'
    history builds up), alerts reach the review queue, an analyst's mark takes one off it, and a second replay
    with fresh ids is accepted."""
    from apps.fraud.simulator import as_requests, demo_stream

    stream = demo_stream(14)
    results = []
    for start in range(0, len(stream), 200):
        chunk = as_requests(stream.iloc[start:start + 200], "r1-")
        answer = post(service, "/v1/score/batch", {"transactions": chunk})
        assert answer.status_code == 200, answer.text
        results += answer.json()["results"]
    alerts = {f"r1-{tx}" for tx, r in zip(stream["TRANSACTION_ID"], results, strict=True) if r["decision"] != "approve"}
    frauds = {f"r1-{tx}" for tx in stream.loc[stream["TX_FRAUD"] == 1, "TRANSACTION_ID"]}
    assert alerts & frauds, "the replay raised no alert on any of its frauds"
    queue = httpx.get(f"{service}/v1/review-queue", params={"limit": 500}, headers=AUTH, timeout=30).json()["items"]
    assert {item["transaction_id"] for item in queue} == alerts
    marked = queue[0]["transaction_id"]
    assert post(service, "/v1/labels", {"labels": [{"transaction_id": marked, "label": "fraud"}]}).status_code == 200
    queue = httpx.get(f"{service}/v1/review-queue", params={"limit": 500}, headers=AUTH, timeout=30).json()["items"]
    assert marked not in {item["transaction_id"] for item in queue} and len(queue) == len(alerts) - 1
    again = post(service, "/v1/score/batch", {"transactions": as_requests(stream.head(5), "r2-")})
    assert again.status_code == 200 and len(again.json()["results"]) == 5
