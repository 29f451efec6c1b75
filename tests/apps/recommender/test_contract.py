from typing import Any

from lepton_shared.testing.contract import AppContract


class TestRecommenderContract(AppContract):
    app_name = "recommender"

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # two known users and an unknown one (trending items), each with its own k
        return [{"user_id": "u1", "k": 10}, {"user_id": "u2", "k": 5}, {"user_id": "no-such-user", "k": 3}]
