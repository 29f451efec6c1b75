"""The Streamlit page in headless Chromium, in-process and through the service: send a message, see the
answer, rate it, click a suggested out-of-scope message, then the handoff banner, the agent queue and the
analytics after clicking the suggestion that asks for a person."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path

import pytest

from apps.chatbot.data import suggested_messages
from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit
from lepton_shared.testing.env import lepton_env

MODES = ["in-process", "service"]


def intents() -> list[str]:
    """The intents of the built-in bank, which the trained model of these tests serves."""
    from apps.chatbot.intents import BANK_INTENTS

    return [spec.name for spec in BANK_INTENTS]


def _copy_database(home: Path, folder: Path) -> str:
    """A consistent copy (write-ahead log included) of the home's database, with its registered model and
    without the conversations other tests of the session left in it."""
    copy = folder / "lepton.db"
    with sqlite3.connect(home / "lepton.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
        for table in ("chatbot_feedback", "chatbot_handoffs", "chatbot_messages", "chatbot_sessions"):
            target.execute(f"DELETE FROM {table}")
    return f"sqlite:///{copy}"


def _env(home: Path, database_url: str | None = None, service: str = "") -> dict[str, str]:
    env = {"LEPTON_HOME": str(home), "LEPTON_CHATBOT_URL": service, "TOKENIZERS_PARALLELISM": "false"}
    if database_url:
        env["LEPTON_DATABASE_URL"] = database_url
    return env


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_chat_page_answers_and_hands_off(mode: str, trained_home: Path, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    from apps.chatbot.app import APP
    from lepton_shared.testing.server import serve_app

    database_url = _copy_database(trained_home, tmp_path)  # this test's conversations only
    with ExitStack() as stack:
        stack.enter_context(lepton_env(trained_home, database_url=database_url))
        service = stack.enter_context(serve_app(APP.create_service())) if mode == "service" else ""
        url = stack.enter_context(streamlit_server(APP.ui_script, env=_env(trained_home, database_url, service)))
        page = stack.enter_context(browser_page(f"chatbot-ui-{mode}"))
        page.goto(url)
        wait_for_streamlit(page)
        caption = page.get_by_text("intents · out-of-scope threshold")
        caption.wait_for()
        expect(caption).to_contain_text(f"service {service}" if mode == "service" else "in-process")

        page.get_by_label("Your message").fill("My new card has not arrived yet")
        page.get_by_role("button", name="Send").click()
        wait_for_streamlit(page)
        turns = page.locator('[data-testid="stChatMessage"]')
        expect(turns).to_have_count(2)
        expect(turns.nth(0)).to_contain_text("My new card has not arrived yet")
        answer = turns.nth(1)
        expect(answer).to_contain_text("confidence")
        expect(answer).to_contain_text("source")
        reply = answer.inner_text().split("intent")[0].strip()
        assert len(reply) > 10, f"the assistant's reply is empty: {answer.inner_text()!r}"

        page.get_by_role("button", name="👍 Helpful").click()
        page.get_by_text("Thanks for the feedback").wait_for()
        wait_for_streamlit(page)

        offered = dict((kind, text) for kind, text in reversed(suggested_messages(intents())))  # each kind's first
        page.get_by_role("button", name=offered["out of scope"], exact=True).click()
        wait_for_streamlit(page)
        expect(turns).to_have_count(4)
        expect(turns.nth(2)).to_contain_text(offered["out of scope"])  # sent as the customer's message
        expect(turns.nth(3)).to_contain_text("confidence")  # whether a tiny model calls it out of scope varies
        page.get_by_role("button", name=offered["asks for a person"], exact=True).click()
        page.get_by_text("handed over to a human agent").wait_for()
        wait_for_streamlit(page)
        expect(turns).to_have_count(6)

        page.get_by_role("tab", name="Agent queue").click()
        handoff = page.get_by_text("asked for human").first
        handoff.wait_for()
        handoff.click()
        expect(page.get_by_text(f"Customer: {offered['asks for a person']}")).to_have_count(1)
        wait_for_streamlit(page)
        take = page.get_by_role("button", name="Take")
        for _ in range(3):  # a click landing while the browser still lays out the expander can be lost
            if not take.count():
                break
            take.click()
            wait_for_streamlit(page)
            try:
                page.get_by_text("No waiting handoffs.").wait_for(timeout=20_000)
            except PlaywrightTimeout:
                continue
        page.get_by_text("No waiting handoffs.").wait_for()
        page.get_by_text("taken", exact=True).click()
        page.get_by_text("asked for human").first.wait_for()

        page.get_by_role("tab", name="Analytics").click()
        conversations = page.locator('[data-testid="stMetric"]').filter(has_text="Conversations")
        expect(conversations).to_contain_text("1")
        expect(page.get_by_role("button", name="Export feedback as training rows (CSV)")).to_have_count(1)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_page_without_model_is_friendly(mode: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from apps.chatbot.app import APP
    from lepton_shared.testing.server import serve_app

    home = tmp_path / "empty"
    with ExitStack() as stack:
        stack.enter_context(lepton_env(home))
        service = stack.enter_context(serve_app(APP.create_service())) if mode == "service" else ""
        url = stack.enter_context(streamlit_server(APP.ui_script, env=_env(home, service=service)))
        page = stack.enter_context(browser_page(f"chatbot-ui-empty-{mode}"))
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("No chatbot model is available yet").wait_for()
        # expect() retries: Streamlit may draw the button a moment after the message
        expect(page.get_by_role("button", name="Train a small model")).to_have_count(1)
        if mode == "service":
            expect(page.get_by_text(f"the service at {service} is asked to reload it")).to_have_count(1)


@pytest.mark.browser
def test_unreachable_service_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    from apps.chatbot.app import APP
    from lepton_shared.testing.server import free_port

    down = f"http://127.0.0.1:{free_port()}"
    with streamlit_server(APP.ui_script, env=_env(tmp_path / "empty", service=down)) as url, \
            browser_page("chatbot-ui-down") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text(f"the chatbot service at {down} does not answer").wait_for()
