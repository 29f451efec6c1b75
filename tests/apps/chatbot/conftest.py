"""One tiny chatbot model trained once per test session, in its own LEPTON_HOME.

Tests that need it re-enter that home with ``lepton_env(home)``; training takes
a few seconds (8 examples per built-in intent, one epoch).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lepton_shared.testing.env import lepton_env

TOKEN = "chatbot-test-token"


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LEPTON_HOME holding one tiny trained chatbot model (not entered: use ``trained_env`` for that)."""
    from apps.chatbot.app import APP
    from apps.chatbot.config import ChatbotTrainConfig

    home = tmp_path_factory.mktemp("chatbot-tiny")
    with lepton_env(home):
        APP.train(ChatbotTrainConfig(tiny=True, epochs=2, promote="always"))  # production whatever the gate says
    return home


@pytest.fixture()
def trained_env(trained_home: Path) -> Iterator[Path]:
    """The tiny model's home as the current suite environment (with an API token)."""
    with lepton_env(trained_home, api_token=TOKEN) as home:
        yield home
