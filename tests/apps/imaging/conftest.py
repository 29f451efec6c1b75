"""A tiny trained imaging model shared by the service, UI and training tests of one module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lepton_shared.testing.env import lepton_env


def train_tiny() -> Any:
    """A one-epoch model made production whatever the promotion gate says: the tests need one to serve."""
    from apps.imaging.app import APP
    from apps.imaging.config import ImagingTrainConfig

    return APP.train(ImagingTrainConfig(tiny=True, epochs=1, promote="always"))


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """(LEPTON_HOME, ModelInfo) of a model trained for one epoch on the tiny built-in set."""
    home = tmp_path_factory.mktemp("imaging-home")
    with lepton_env(home):
        yield home, train_tiny()
