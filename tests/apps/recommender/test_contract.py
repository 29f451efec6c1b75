from typing import Any

from lepton_shared.testing.contract import AppContract


class TestRecommenderContract(AppContract):
    app_name = "recommender"

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # two known users and an unknown one (trending items), each with its own k
        return [{"user_id": "u1", "k": 10}, {"user_id": "u2", "k": 5}, {"user_id": "no-such-user", "k": 3}]

    def typed_requests(self) -> list[tuple[str, str, Any]]:
        return [("GET", "/v1/users/u1/recommendations?k=3", None), ("GET", "/v1/users/u1/history", None),
                ("POST", "/v1/recommendations", {"items": ["no-such-item"], "k": 3}),
                ("POST", "/v1/events", {"events": [{"user_id": "u1", "item_id": "i1"}]})]
