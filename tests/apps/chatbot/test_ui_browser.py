"""The Streamlit page in headless Chromium: send a message, see the answer, then the
handoff banner and the agent queue after asking for a person."""

from __future__ import annotations

from pathlib import Path

import pytest

from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit


@pytest.mark.browser
@pytest.mark.slow
def test_chat_page_answers_and_hands_off(trained_home: Path) -> None:
    from apps.chatbot.app import APP

    env = {"LEPTON_HOME": str(trained_home), "LEPTON_CHATBOT_URL": "", "TOKENIZERS_PARALLELISM": "false"}
    with streamlit_server(APP.ui_script, env=env) as url, browser_page("chatbot-ui") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("intents · out-of-scope threshold").wait_for()
        page.get_by_label("Your message").fill("My new card has not arrived yet")
        page.get_by_role("button", name="Send").click()
        page.get_by_text("My new card has not arrived yet").first.wait_for()
        page.get_by_text("confidence").first.wait_for()
        wait_for_streamlit(page)
        assert page.get_by_text("source").count() >= 1
        page.get_by_label("Your message").fill("Can I talk to a real person?")
        page.get_by_role("button", name="Send").click()
        page.get_by_text("handed over to a human agent").wait_for()
        wait_for_streamlit(page)
        page.get_by_role("tab", name="Agent queue").click()
        page.get_by_text("asked for human").first.wait_for()


@pytest.mark.browser
@pytest.mark.slow
def test_page_without_model_is_friendly(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from apps.chatbot.app import APP

    env = {"LEPTON_HOME": str(tmp_path / "empty"), "LEPTON_CHATBOT_URL": ""}
    with streamlit_server(APP.ui_script, env=env) as url, browser_page("chatbot-ui-empty") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("No chatbot model is available yet").wait_for()
        # expect() retries: Streamlit may draw the button a moment after the message
        expect(page.get_by_role("button", name="Train a small model")).to_have_count(1)
