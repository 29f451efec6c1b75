"""Streamlit page of the chatbot: chat window, agent handoff queue and analytics.

Everything goes through ``AppClient``: the chatbot service at ``LEPTON_CHATBOT_URL``, or the same service
in this process, so the page offers the same features both ways. Run it with ``lepton chatbot ui``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import streamlit as st

from apps.chatbot.data import suggested_messages
from apps.chatbot.manifest import MANIFEST
from lepton_shared.ui import AppClient, ServiceError
from lepton_shared.ui.examples import Example, forget_example, pick_example
from lepton_shared.ui.report import show_model_report
from lepton_shared.ui.studies import studies_section

APP = MANIFEST.name
#: what the page catches from a call: the service's refusal, or no answer at all
FAILURES = (ServiceError, httpx.HTTPError)

client = AppClient(APP)


def serving_model() -> tuple[dict[str, Any] | None, str]:
    """The service's intents, thresholds and model version, or None and why not."""
    try:
        return client.get("/v1/intents"), ""
    except ServiceError as exc:
        return None, str(exc)
    except httpx.HTTPError as exc:
        return None, f"the chatbot service at {client.url} does not answer ({exc.__class__.__name__})"


def train_small_model() -> str:
    """Train on the built-in bank data in this process, then have the service load the new version
    (made production whatever the promotion gate says: the page has no model to show otherwise)."""
    from apps.chatbot.config import ChatbotTrainConfig
    from apps.chatbot.training import train

    info = train(ChatbotTrainConfig(promote="always"))
    loaded = client.post("/v1/admin/reload")["model_version"]
    if loaded != info.version:
        raise RuntimeError(f"model {info.version} was trained here, but the service at {client.url} loaded "
                           f"{loaded}: it reads another model registry; run `lepton chatbot train` where it runs")
    return info.version


def not_ready(problem: str) -> None:
    st.info(f"No chatbot model is available yet ({problem}).")
    if client.remote:
        st.caption(f"The model is trained in this process's LEPTON_HOME, then the service at {client.url} is "
                   "asked to reload it (this works when both read the same model registry).")
    if st.button("Train a small model on the built-in bank data (about 1-2 min)"):
        with st.spinner("Training on the built-in Lepton Bank data…"):
            try:
                version = train_small_model()
            except (*FAILURES, RuntimeError) as exc:
                st.error(str(exc))
                return
        st.success(f"Model {version} trained.")
        st.rerun()


def send_feedback(message_id: int, helpful: bool | None, correct_intent: str | None, thanks: str) -> None:
    try:
        client.post("/v1/feedback", json={"message_id": message_id, "helpful": helpful,
                                          "correct_intent": correct_intent})
    except FAILURES as exc:
        st.error(str(exc))
    else:
        st.toast(thanks)


def send(message: str, history: list[dict[str, Any]]) -> None:
    """One turn of the conversation: the service's answer joins the history, then the page redraws."""
    try:
        turn = client.post("/v1/chat", json={"message": message,
                                             "session_id": st.session_state.get("chat_session_id")})
    except FAILURES as exc:
        st.error(str(exc))
        return
    st.session_state["chat_session_id"] = turn["session_id"]
    history.append({**turn, "message": message})
    st.rerun()


def suggestions(intents: list[str], history: list[dict[str, Any]]) -> None:
    """Messages from the built-in bank to send with one click: in scope, out of scope, asking for a person."""
    st.caption("Try a message (from the built-in bank data; the reply is the model's):")
    offered = [Example(text, text, kind) for kind, text in suggested_messages(intents)]
    chosen = pick_example(offered, "chat-suggestion", columns=5)
    if chosen is not None:
        forget_example("chat-suggestion")  # sent once, not again on the next rerun
        send(str(chosen.value), history)


def chat_tab(intents: list[str]) -> None:
    history: list[dict[str, Any]] = st.session_state.setdefault("chat_history", [])
    if any(turn.get("handoff") for turn in history):
        st.warning("This conversation has been handed over to a human agent (see the Agent queue tab).",
                   icon="🧑‍💼")
    for turn in history:
        with st.chat_message("user"):
            st.write(turn["message"])
        with st.chat_message("assistant"):
            st.write(turn["reply"])
            st.caption(f"intent **{turn['intent']}** · confidence {turn['confidence']:.2f} · "
                       f"source **{turn['source']}**" + (" · out of scope" if turn["out_of_scope"] else ""))
    suggestions(intents, history)
    with st.form("chat_form", clear_on_submit=True):
        message = st.text_input("Your message", max_chars=1000, placeholder="e.g. My card has not arrived yet")
        sent = st.form_submit_button("Send")
    if sent and message.strip():
        send(message, history)
    if history:
        last = history[-1]
        st.write("Was the last answer helpful?")
        c1, c2, c3 = st.columns([1, 1, 3])
        if c1.button("👍 Helpful"):
            send_feedback(last["message_id"], True, None, "Thanks for the feedback")
        if c2.button("👎 Not helpful"):
            send_feedback(last["message_id"], False, None, "Thanks for the feedback")
        with c3.popover("Wrong intent?"):
            correct = st.selectbox("The intent I meant", [*intents, "oos"], key="correct_intent")
            if st.button("Send correction"):
                send_feedback(last["message_id"], False, correct,
                              "Correction saved: it can be exported as a training row")
        if st.button("New conversation"):
            st.session_state.pop("chat_session_id", None)
            st.session_state["chat_history"] = []
            st.rerun()


def agent_tab() -> None:
    status = st.radio("Show", ["waiting", "taken", "closed"], horizontal=True)
    try:
        queue = client.get("/v1/handoffs", params={"status": status})
    except FAILURES as exc:
        st.error(str(exc))
        return
    if not queue:
        st.write(f"No {status} handoffs.")
    for item in queue:
        with st.expander(f"#{item['id']} · {item['reason'].replace('_', ' ')} · {item['created_at'][:19]}"):
            for m in item["transcript"]:
                who = "Customer" if m["role"] == "user" else "Bot"
                st.markdown(f"**{who}:** {m['text']}")
            c1, c2 = st.columns(2)
            new_status = None
            if status == "waiting" and c1.button("Take", key=f"take{item['id']}"):
                new_status = "taken"
            if status != "closed" and c2.button("Close", key=f"close{item['id']}"):
                new_status = "closed"
            if new_status:
                try:
                    client.post(f"/v1/handoffs/{item['id']}", json={"status": new_status})
                except FAILURES as exc:
                    st.error(str(exc))
                else:
                    st.rerun()


def analytics_tab() -> None:
    try:
        stats = client.get("/v1/analytics")
        export = client.raw("GET", "/v1/feedback/export").text
    except FAILURES as exc:
        st.error(str(exc))
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Conversations", stats["sessions"])
    c2.metric("Bot replies", stats["replies"])
    c3.metric("Fallback rate", f"{stats['fallback_rate']:.0%}")
    c4.metric("Handoff rate", f"{stats['handoff_rate']:.0%}")
    if stats["intent_mix"]:
        st.subheader("Intent mix")
        st.bar_chart(pd.Series(stats["intent_mix"], name="replies"), horizontal=True)
    if stats["sources"]:
        st.subheader("Answer sources")
        st.bar_chart(pd.Series(stats["sources"], name="replies"))
    if stats["feedback_per_day"]:
        st.subheader("Feedback over time")
        st.line_chart(pd.DataFrame(stats["feedback_per_day"]).set_index("day"))
    st.download_button("Export feedback as training rows (CSV)", export, "chatbot_feedback.csv", "text/csv")


def page() -> None:
    st.set_page_config(page_title="Lepton chatbot", page_icon="💬", layout="wide")
    st.title(f"💬 {MANIFEST.title}")
    info, problem = serving_model()
    if info is None:
        not_ready(problem)
        return
    st.caption(f"Model {info['model_version']} · {len(info['intents'])} intents · out-of-scope threshold "
               f"{info['oos_threshold']:.2f} · {client.where}")
    chat, agent, stats, evaluation = st.tabs(["Chat", "Agent queue", "Analytics", "Evaluation"])
    with chat:
        chat_tab(list(info["intents"]))
    with agent:
        agent_tab()
    with stats:
        analytics_tab()
    with evaluation:
        show_model_report(client, expanded=True)


page()
studies_section(MANIFEST.name)
