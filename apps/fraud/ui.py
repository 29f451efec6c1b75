"""Streamlit page of the fraud app: replay a simulated stream or score a payment by hand, work the review queue,
watch the dashboard.

Everything goes through ``AppClient``: the fraud service at ``LEPTON_FRAUD_URL``, or the same service
in this process, so the page offers the same features both ways. Run it with ``lepton fraud ui``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import httpx
import pandas as pd
import streamlit as st

from apps.fraud.manifest import MANIFEST
from apps.fraud.simulator import as_requests, demo_stream
from lepton_shared.ui import AppClient, ServiceError
from lepton_shared.ui.report import show_model_report
from lepton_shared.ui.studies import studies_section

APP = MANIFEST.name
#: what the page catches from a call: the service's refusal, or no answer at all
FAILURES = (ServiceError, httpx.HTTPError)
#: Payments sent per request while replaying (a day's worth), so the progress bar moves like a stream.
STREAM_CHUNK = 50
STREAM_COLUMNS = ["transaction_id", "tx_datetime", "customer_id", "terminal_id", "tx_amount", "score", "decision"]

client = AppClient(APP)


def serving_model() -> tuple[dict[str, Any] | None, str]:
    """The service's model (version, kind, cost policy), or None and why not."""
    try:
        return client.get("/v1/model"), ""
    except ServiceError as exc:
        return None, str(exc)
    except httpx.HTTPError as exc:
        return None, f"the fraud service at {client.url} does not answer ({exc.__class__.__name__})"


def train_small_model() -> str:
    """Train on the tiny built-in simulation in this process, then have the service load the new version
    (made production whatever the promotion gate says: the page has no model to show otherwise)."""
    from apps.fraud.config import FraudTrainConfig
    from apps.fraud.training import train

    info = train(FraudTrainConfig(tiny=True, epochs=1, promote="always"))
    loaded = client.post("/v1/admin/reload")["model_version"]
    if loaded != info.version:
        raise RuntimeError(f"model {info.version} was trained here, but the service at {client.url} loaded "
                           f"{loaded}: it reads another model registry; run `lepton fraud train` where it runs")
    return info.version


def no_model(problem: str) -> None:
    st.info(f"No fraud model is ready yet ({problem}). Train a small one on the built-in simulated "
            "transactions (about half a minute), or run `lepton fraud train`.")
    if client.remote:
        st.caption(f"The model is trained in this process's LEPTON_HOME, then the service at {client.url} is "
                   "asked to reload it (this works when both read the same model registry).")
    if st.button("Train a small model on the built-in data", type="primary"):
        with st.spinner("Training on simulated transactions..."):
            try:
                trained = train_small_model()
            except (*FAILURES, RuntimeError) as exc:
                st.error(str(exc))
            else:
                st.success(f"Model {trained} trained.")
                st.rerun()


@st.cache_data(show_spinner=False)
def stream(days: int) -> pd.DataFrame:
    """The replayable stream: the built-in simulator's, generated once per length and server."""
    return demo_stream(days)


def replay(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Score and record the stream in time order, a chunk per request; each replay gets fresh transaction ids
    (``replay-<tag>-<n>``) since the service records every id once."""
    body = as_requests(frame, f"replay-{uuid.uuid4().hex[:6]}-")
    answers: list[dict[str, Any]] = []
    progress = st.progress(0.0, text="replaying…")
    for start in range(0, len(body), STREAM_CHUNK):
        chunk = body[start:start + STREAM_CHUNK]
        results = client.post("/v1/score/batch", json={"transactions": chunk})["results"]
        answers += [{**tx, **answer} for tx, answer in zip(chunk, results, strict=True)]
        progress.progress(len(answers) / len(body), text=f"replayed {len(answers)} of {len(body)} payments")
    return answers


def stream_tab() -> None:
    st.caption("Payments of a small simulated shop (50 cards, 100 terminals) from the app's built-in simulator, "
               "with a seed the model was not trained on and card and terminal compromises ten times as frequent "
               "as usual. Each is scored and recorded in time order, as if it had just happened, so the history "
               "the model reads builds up; alerts go to the review queue. Replay it as often as you like: each "
               "replay is a fresh batch of ids.")
    days = st.select_slider("Days to replay", options=[7, 14, 21], value=14, key="stream_days")
    if st.button("Replay the stream", type="primary", key="stream_go"):
        try:
            st.session_state["stream_answers"] = replay(stream(int(days)))
        except FAILURES as exc:
            st.error(str(exc))
            return
    answers = st.session_state.get("stream_answers")
    if not answers:
        return
    table = pd.DataFrame(answers)
    alerts = table[table["decision"] != "approve"]
    st.success(f"replayed {len(table)} payments: {len(alerts)} alert(s) went to the review queue")
    st.dataframe(alerts[[c for c in STREAM_COLUMNS if c in alerts]], hide_index=True, width="stretch")


def score_tab() -> None:
    with st.form("score"):
        cols = st.columns(3)
        customer = cols[0].number_input("Customer (card) id", min_value=0, value=42, step=1)
        terminal = cols[1].number_input("Terminal id", min_value=0, value=314, step=1)
        amount = cols[2].number_input("Amount", min_value=0.0, value=57.16, step=1.0, format="%.2f")
        cols = st.columns(3)
        day = cols[0].date_input("Date", value=date(2018, 5, 20))
        clock = cols[1].time_input("Time", value=time(14, 32))
        tx_id = cols[2].text_input("Transaction id (optional)", value="")
        record = st.checkbox("Record it (adds it to the history; alerts go to the review queue)", value=True)
        submitted = st.form_submit_button("Score", type="primary")
    if not submitted:
        return
    body: dict[str, Any] = {"tx_datetime": datetime.combine(day, clock).isoformat(), "customer_id": int(customer),
                            "terminal_id": int(terminal), "tx_amount": float(amount)}
    if tx_id.strip():
        body["transaction_id"] = tx_id.strip()
    try:
        answer = client.post("/v1/score" if record else "/v1/predict", json=body)
    except FAILURES as exc:
        st.error(str(exc))
        return
    cols = st.columns(3)
    cols[0].metric("Fraud score", f"{answer['score']:.3f}")
    cols[1].metric("Decision", answer["decision"].upper())
    cols[2].metric("Transaction", str(answer.get("transaction_id") or "not recorded"))
    st.markdown(f"<div data-testid='fraud-decision'>Decision: <b>{answer['decision']}</b></div>",
                unsafe_allow_html=True)
    if answer["reasons"]:
        st.subheader("Why")
        st.dataframe(pd.DataFrame(answer["reasons"]), hide_index=True)
    if answer["rules_fired"]:
        st.warning("Analyst rules fired: " + "; ".join(answer["rules_fired"]))
    st.subheader("Expected cost of each action")
    st.bar_chart(pd.Series(answer["expected_costs"], name="expected cost"))


def queue_tab() -> None:
    try:
        items = client.get("/v1/review-queue")["items"]
    except FAILURES as exc:
        st.error(str(exc))
        return
    if not items:
        st.info("The review queue is empty: alerts (review or decline) of recorded transactions appear here.")
    for item in items:
        with st.expander(f"{item['transaction_id']} · customer {item['customer_id']} · terminal "
                         f"{item['terminal_id']} · {item['tx_amount']:.2f} · score {item['score']:.3f} "
                         f"· {item['decision']}"):
            if item["reasons"]:
                st.dataframe(pd.DataFrame(item["reasons"]), hide_index=True)
            buttons = st.columns(2)
            for col, label in zip(buttons, ("fraud", "legit"), strict=True):
                if col.button(f"Mark {label}", key=f"{label}-{item['transaction_id']}"):
                    try:
                        client.post("/v1/labels", json={"labels": [{"transaction_id": item["transaction_id"],
                                                                    "label": label, "source": "analyst"}]})
                    except FAILURES as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"{item['transaction_id']} marked {label}")
                        st.rerun()


def dashboard_tab() -> None:
    try:
        days = pd.DataFrame(client.get("/v1/dashboard")["days"])
    except FAILURES as exc:
        st.error(str(exc))
        return
    if days.empty:
        st.info("No recorded transactions yet: score some with 'Record it' ticked.")
        return
    days = days.set_index("date")
    left, right = st.columns(2)
    left.subheader("Transactions and alerts per day")
    left.bar_chart(days[["transactions", "alerts"]])
    right.subheader("Fraud rate (labelled) per day")
    right.line_chart(days[["fraud_rate"]])
    left, right = st.columns(2)
    left.subheader("Precision of labelled alerts")
    left.line_chart(days[["alert_precision"]].astype(float))
    right.subheader("Mean score per day (drift)")
    right.line_chart(days[["mean_score"]])
    st.dataframe(days)


def page() -> None:
    st.set_page_config(page_title="Lepton fraud", layout="wide")
    st.title(MANIFEST.title)
    st.caption("Scores payments with a model trained on the card's and the terminal's history, decides by "
               "expected cost (approve / review / decline) and explains each score. "
               + (f"Using the service at {client.url}." if client.remote else "Running in-process."))
    model, problem = serving_model()
    if model is None:
        no_model(problem)
        return
    policy = model["policy"]
    st.caption(f"Model version **{model['model_version']}** ({model['kind']}); costs: review "
               f"{policy['review_cost']:g}, declining a genuine payment {policy['decline_cost']:g}, "
               f"chargeback fee {policy['chargeback_fee']:g} on top of the amount"
               + (f"; {len(policy['rules'])} analyst rule(s)" if policy["rules"] else "") + ".")
    replayed, score, queue, dashboard, evaluation = st.tabs(
        ["Replay a stream", "Score a transaction", "Review queue", "Dashboard", "Evaluation"])
    with replayed:
        stream_tab()
    with score:
        score_tab()
    with queue:
        queue_tab()
    with dashboard:
        dashboard_tab()
    with evaluation:
        show_model_report(client, expanded=True)


page()
studies_section(MANIFEST.name)
