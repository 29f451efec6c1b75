from typing import Any

from lepton_shared.testing.contract import AppContract


class TestFraudContract(AppContract):
    app_name = "fraud"

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # different cards, terminals, times and amounts (the expected costs follow the amount)
        return [{"transaction_id": "order-a", "tx_datetime": "2018-05-20T14:32:00", "customer_id": 42,
                 "terminal_id": 314, "tx_amount": 57.16},
                {"transaction_id": "order-b", "tx_datetime": "2018-05-21T03:05:00", "customer_id": 7,
                 "terminal_id": 12, "tx_amount": 940.0},
                {"transaction_id": "order-c", "tx_datetime": "2018-05-22T09:45:30", "customer_id": 150,
                 "terminal_id": 271, "tx_amount": 3.5}]

    def typed_requests(self) -> list[tuple[str, str, Any]]:
        tx = {"tx_datetime": "2018-05-23T10:00:00", "customer_id": 42, "terminal_id": 314, "tx_amount": 12.5}
        return [("POST", "/v1/score", {"transaction_id": "typed-1", **tx}),
                ("POST", "/v1/score/batch", {"transactions": [{"transaction_id": "typed-2", **tx}]}),
                ("POST", "/v1/labels", {"labels": [{"transaction_id": "typed-1", "label": "fraud"}]}),
                ("GET", "/v1/review-queue", None), ("GET", "/v1/dashboard", None)]
