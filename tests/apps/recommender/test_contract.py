from collections.abc import Iterator
from typing import Any

import pytest

from lepton_shared.testing.contract import TOKEN, AppContract
from lepton_shared.testing.env import lepton_env


class TestRecommenderContract(AppContract):
    app_name = "recommender"
    train_argv = ["--epochs", "1", "--tiny"]

    @pytest.fixture(scope="class")
    def trained(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        """The tiny model of ``train_argv``, trained with the typed configuration the CLI builds from it."""
        from apps.recommender.app import APP
        from apps.recommender.config import RecommenderTrainConfig

        with lepton_env(tmp_path_factory.mktemp("recommender-contract"), api_token=TOKEN):
            yield APP.train(RecommenderTrainConfig(tiny=True, epochs=1))

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # two known users and an unknown one (trending items), each with its own k
        return [{"user_id": "u1", "k": 10}, {"user_id": "u2", "k": 5}, {"user_id": "no-such-user", "k": 3}]
