from collections.abc import Iterator
from typing import Any

import pytest

from lepton_shared.testing.contract import TOKEN, AppContract
from lepton_shared.testing.env import lepton_env


class TestFraudContract(AppContract):
    app_name = "fraud"
    train_argv = ["--epochs", "1", "--tiny"]
    evaluate_argv = ["--tiny"]

    @pytest.fixture(scope="class")
    def trained(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        """The tiny model of ``train_argv``, trained with the typed configuration the CLI builds from it."""
        from apps.fraud.app import APP
        from apps.fraud.config import FraudTrainConfig

        with lepton_env(tmp_path_factory.mktemp("fraud-contract"), api_token=TOKEN):
            yield APP.train(FraudTrainConfig(tiny=True, epochs=1))

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # different cards, terminals, times and amounts (the expected costs follow the amount)
        return [{"transaction_id": "order-a", "tx_datetime": "2018-05-20T14:32:00", "customer_id": 42,
                 "terminal_id": 314, "tx_amount": 57.16},
                {"transaction_id": "order-b", "tx_datetime": "2018-05-21T03:05:00", "customer_id": 7,
                 "terminal_id": 12, "tx_amount": 940.0},
                {"transaction_id": "order-c", "tx_datetime": "2018-05-22T09:45:30", "customer_id": 150,
                 "terminal_id": 271, "tx_amount": 3.5}]
