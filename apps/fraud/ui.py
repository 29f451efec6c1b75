"""Streamlit page of the fraud app: score a payment by hand, work the review queue, watch the dashboard.

Talks to the fraud service when ``LEPTON_FRAUD_URL`` is set, otherwise runs the app in-process.
Run it with ``lepton fraud ui``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pandas as pd
import streamlit as st

from apps.fraud.manifest import MANIFEST
from lepton_shared.errors import UserError
from lepton_shared.ui import call_service, service_url

APP_NAME = "fraud"


# -- backend: the service, or the same code in-process ---------------------------
def _predictor() -> Any:
    from apps.fraud.app import APP

    return APP.load_predictor()


def backend(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call ``path`` on the service, or answer it in-process with the service's own functions."""
    if service_url(APP_NAME):
        return call_service(APP_NAME, method, path, json=body) if body is not None else \
            call_service(APP_NAME, method, path)
    from apps.fraud import online
    from apps.fraud.predictor import TransactionIn
    from lepton_shared.storage import session_scope

    if path == "/readyz":
        return {"status": "ready", "model_version": _predictor().version}
    if path in ("/v1/score", "/v1/predict"):
        predictor, item = _predictor(), TransactionIn.model_validate(body)
        if path == "/v1/predict":
            return predictor.predict(item)
        with session_scope() as session:
            return predictor.score_and_record(session, [item])[0]
    if path == "/v1/labels":
        assert body is not None
        with session_scope() as session:
            return {"stored": [online.apply_label(session, x["transaction_id"], x["label"], x.get("source", "analyst"))
                               for x in body["labels"]]}
    with session_scope() as session:
        if path.startswith("/v1/review-queue"):
            return {"items": online.review_queue(session, 50)}
        if path == "/v1/dashboard":
            return {"days": online.dashboard(session)}
    raise ValueError(f"unknown path {path}")


def model_status() -> tuple[str | None, str]:
    try:
        return backend("GET", "/readyz")["model_version"], ""
    except (UserError, RuntimeError) as exc:
        return None, str(exc)


def train_small_model() -> str:
    from apps.fraud.app import APP
    from lepton_shared.cli.main import build_parser

    args = build_parser(APP_NAME).parse_args([APP_NAME, "train", "--tiny", "--epochs", "1"])
    info = APP.train(args)
    if service_url(APP_NAME):
        call_service(APP_NAME, "POST", "/v1/admin/reload")
    return info.version


# -- page ---------------------------------------------------------------------
st.set_page_config(page_title="Lepton fraud", layout="wide")
st.title(MANIFEST.title)
st.caption("Scores payments with a model trained on the card's and the terminal's history, decides by expected "
           "cost (approve / review / decline) and explains each score. "
           + ("Using the service at " + str(service_url(APP_NAME)) if service_url(APP_NAME) else "Running in-process."))

version, problem = model_status()
if version is None:
    st.info(f"No fraud model is ready yet ({problem}). Train a small one on the built-in simulated "
            "transactions (about half a minute), or run `lepton fraud train`.")
    if st.button("Train a small model on the built-in data", type="primary"):
        with st.spinner("Training on simulated transactions..."):
            try:
                trained = train_small_model()
            except (UserError, RuntimeError) as exc:
                st.error(str(exc))
            else:
                st.success(f"Model {trained} trained.")
                st.rerun()
    st.stop()

st.caption(f"Model version **{version}**")
score_tab, queue_tab, dash_tab = st.tabs(["Score a transaction", "Review queue", "Dashboard"])

with score_tab:
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
    if submitted:
        body = {"tx_datetime": datetime.combine(day, clock).isoformat(), "customer_id": int(customer),
                "terminal_id": int(terminal), "tx_amount": float(amount)}
        if tx_id.strip():
            body["transaction_id"] = tx_id.strip()
        try:
            answer = backend("POST", "/v1/score" if record else "/v1/predict", body)
        except (UserError, RuntimeError) as exc:
            st.error(str(exc))
        else:
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

with queue_tab:
    try:
        items = backend("GET", "/v1/review-queue")["items"]
    except (UserError, RuntimeError) as exc:
        st.error(str(exc))
        items = []
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
                        backend("POST", "/v1/labels", {"labels": [{"transaction_id": item["transaction_id"],
                                                                   "label": label, "source": "analyst"}]})
                    except (UserError, RuntimeError) as exc:
                        st.error(str(exc))
                    else:
                        st.success(f"{item['transaction_id']} marked {label}")
                        st.rerun()

with dash_tab:
    try:
        days = pd.DataFrame(backend("GET", "/v1/dashboard")["days"])
    except (UserError, RuntimeError) as exc:
        st.error(str(exc))
        days = pd.DataFrame()
    if days.empty:
        st.info("No recorded transactions yet: score some with 'Record it' ticked.")
    else:
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
