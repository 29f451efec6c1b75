"""Streamlit page of the chatbot: chat window, agent handoff queue and analytics.

Talks to the chatbot service when ``LEPTON_CHATBOT_URL`` is set, otherwise runs
the app in-process on the local LEPTON_HOME.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from apps.chatbot.manifest import MANIFEST
from lepton_shared.ui import call_service, service_url

APP_NAME = "chatbot"


class Backend:
    """The same calls over HTTP (service) or in-process (local model and database)."""

    def __init__(self) -> None:
        self.remote = service_url(APP_NAME) is not None

    def _predictor(self) -> Any:
        return _load_predictor()

    def info(self) -> dict[str, Any]:
        if self.remote:
            return dict(call_service(APP_NAME, "GET", "/v1/intents"))
        p = self._predictor()
        return {"intents": p.labels, "oos_threshold": p.threshold, "model_version": p.version}

    def chat(self, message: str, session_id: str | None) -> dict[str, Any]:
        if self.remote:
            return dict(call_service(APP_NAME, "POST", "/v1/chat",
                                     json={"message": message, "session_id": session_id}))
        from apps.chatbot.conversation import chat

        return chat(self._predictor(), message, session_id)

    def feedback(self, message_id: int, helpful: bool | None, correct_intent: str | None) -> None:
        if self.remote:
            call_service(APP_NAME, "POST", "/v1/feedback", json={"message_id": message_id, "helpful": helpful,
                                                                  "correct_intent": correct_intent})
            return
        from apps.chatbot.conversation import add_feedback

        add_feedback(message_id, helpful, correct_intent, self._predictor().labels)

    def handoffs(self, status: str) -> list[dict[str, Any]]:
        if self.remote:
            return list(call_service(APP_NAME, "GET", "/v1/handoffs", params={"status": status}))
        from apps.chatbot.conversation import list_handoffs

        return list_handoffs(status)

    def update_handoff(self, handoff_id: int, status: str) -> None:
        if self.remote:
            call_service(APP_NAME, "POST", f"/v1/handoffs/{handoff_id}", json={"status": status})
            return
        from apps.chatbot.conversation import update_handoff

        update_handoff(handoff_id, status)

    def analytics(self) -> dict[str, Any]:
        if self.remote:
            return dict(call_service(APP_NAME, "GET", "/v1/analytics"))
        from apps.chatbot.conversation import analytics

        return analytics()

    def export_csv(self) -> str:
        if self.remote:
            import httpx

            from lepton_shared.settings import get_settings

            token = get_settings().api_token
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            url = (service_url(APP_NAME) or "").rstrip("/") + "/v1/feedback/export"
            return httpx.get(url, headers=headers, timeout=60).text
        from apps.chatbot.conversation import export_feedback

        return str(export_feedback().to_csv(index=False))


@st.cache_resource(show_spinner="Loading the intent model…")
def _load_predictor_version(version: str) -> Any:
    from apps.chatbot.app import APP

    return APP.load_predictor(version)


def _load_predictor() -> Any:
    from lepton_shared.registry import Registry

    return _load_predictor_version(Registry().get(APP_NAME).version)


def _not_ready(message: str) -> None:
    st.info(f"No chatbot model is available yet ({message}).")
    if service_url(APP_NAME) is None and st.button("Train a small model on the built-in bank data (about 1-2 min)"):
        from apps.chatbot.app import APP
        from lepton_shared.cli.main import build_parser

        with st.spinner("Training on the built-in Lepton Bank data…"):
            args = build_parser(APP_NAME).parse_args([APP_NAME, "train"])
            info = APP.train(args)
        st.success(f"Model {info.version} trained: accuracy {info.metrics.get('accuracy', 0):.3f}")
        st.rerun()


def chat_tab(backend: Backend, intents: list[str]) -> None:
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
    with st.form("chat_form", clear_on_submit=True):
        message = st.text_input("Your message", max_chars=1000, placeholder="e.g. My card has not arrived yet")
        sent = st.form_submit_button("Send")
    if sent and message.strip():
        try:
            turn = backend.chat(message, st.session_state.get("chat_session_id"))
        except Exception as exc:  # shown to the user, not a traceback
            st.error(f"Could not answer: {exc}")
            return
        st.session_state["chat_session_id"] = turn["session_id"]
        history.append({**turn, "message": message})
        st.rerun()
    if history:
        last = history[-1]
        st.write("Was the last answer helpful?")
        c1, c2, c3 = st.columns([1, 1, 3])
        if c1.button("👍 Helpful"):
            backend.feedback(last["message_id"], True, None)
            st.toast("Thanks for the feedback")
        if c2.button("👎 Not helpful"):
            backend.feedback(last["message_id"], False, None)
            st.toast("Thanks for the feedback")
        with c3.popover("Wrong intent?"):
            correct = st.selectbox("The intent I meant", [*intents, "oos"], key="correct_intent")
            if st.button("Send correction"):
                backend.feedback(last["message_id"], False, correct)
                st.toast("Correction saved: it can be exported as a training row")
        if st.button("New conversation"):
            st.session_state.pop("chat_session_id", None)
            st.session_state["chat_history"] = []
            st.rerun()


def agent_tab(backend: Backend) -> None:
    status = st.radio("Show", ["waiting", "taken", "closed"], horizontal=True)
    queue = backend.handoffs(status)
    if not queue:
        st.write(f"No {status} handoffs.")
    for item in queue:
        with st.expander(f"#{item['id']} · {item['reason'].replace('_', ' ')} · {item['created_at'][:19]}"):
            for m in item["transcript"]:
                who = "Customer" if m["role"] == "user" else "Bot"
                st.markdown(f"**{who}:** {m['text']}")
            c1, c2 = st.columns(2)
            if status == "waiting" and c1.button("Take", key=f"take{item['id']}"):
                backend.update_handoff(item["id"], "taken")
                st.rerun()
            if status != "closed" and c2.button("Close", key=f"close{item['id']}"):
                backend.update_handoff(item["id"], "closed")
                st.rerun()


def analytics_tab(backend: Backend) -> None:
    stats = backend.analytics()
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
    st.download_button("Export feedback as training rows (CSV)", backend.export_csv(), "chatbot_feedback.csv",
                       "text/csv")


def main() -> None:
    st.set_page_config(page_title="Lepton chatbot", page_icon="💬", layout="wide")
    st.title(f"💬 {MANIFEST.title}")
    backend = Backend()
    try:
        info = backend.info()
    except Exception as exc:  # no model or service down: a friendly message
        _not_ready(str(exc).split(": ", 1)[-1] if "503" in str(exc) else str(exc))
        return
    st.caption(f"Model {info['model_version']} · {len(info['intents'])} intents · out-of-scope threshold "
               f"{info['oos_threshold']:.2f} · " + ("service " + (service_url(APP_NAME) or "")
                                                    if backend.remote else "in-process"))
    chat, agent, stats = st.tabs(["Chat", "Agent queue", "Analytics"])
    with chat:
        chat_tab(backend, list(info["intents"]))
    with agent:
        agent_tab(backend)
    with stats:
        analytics_tab(backend)


main()
