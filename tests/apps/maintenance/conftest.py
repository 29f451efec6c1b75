"""One tiny trained maintenance model for the service and page tests, and fresh homes holding it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apps.maintenance.config import MaintenanceTrainConfig
from lepton_shared.testing.env import lepton_env

#: Made production whatever the promotion gate says: the service and page tests need a model to serve.
TINY = MaintenanceTrainConfig(seed=1, device="cpu", epochs=1, tiny=True, episodes=2, members=1, rl_steps=1024,
                              promote="always")


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LEPTON_HOME holding one tiny trained maintenance model and no readings (trained once; never written to
    afterwards: tests that write use ``fresh_home``)."""
    from apps.maintenance.training import train

    path = tmp_path_factory.mktemp("maintenance-trained")
    with lepton_env(path):
        train(TINY)
    return path


@pytest.fixture(scope="session")
def copy_home(trained_home: Path) -> Callable[[Path], Path]:
    """Makes a home of its own with the trained model at a new path (its registry rows still point at the model
    files of ``trained_home``, which stay put)."""

    def copy(to: Path) -> Path:
        shutil.copytree(trained_home, to)
        return to

    return copy


@pytest.fixture()
def fresh_home(copy_home: Callable[[Path], Path], tmp_path: Path) -> Iterator[Path]:
    """The suite's environment on a copy of ``trained_home``: the model, an empty fleet."""
    from lepton_shared.ui import reset_local

    with lepton_env(copy_home(tmp_path / "home")) as home:
        reset_local("maintenance")
        yield home
        reset_local("maintenance")
