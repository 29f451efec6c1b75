from typing import Any

from lepton_shared.testing.contract import AppContract


class TestChatbotContract(AppContract):
    app_name = "chatbot"

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # messages of different intents (and lengths), so their answers differ
        return [{"text": "My new card has not arrived yet"},
                {"text": "What exchange rate do you use for euros?"},
                {"text": "Someone took money from my account without asking me"}]

    def typed_requests(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/v1/chat", {"message": "My new card has not arrived yet"})]
