"""Fixtures for the recommender tests: a home with a tiny trained model, and tiny data files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lepton_shared.testing.env import lepton_env


def train_tiny(**options: Any) -> Any:
    """A tiny model made production whatever the promotion gate says: the tests need one to serve."""
    from apps.recommender.app import APP
    from apps.recommender.config import RecommenderTrainConfig

    return APP.train(RecommenderTrainConfig(tiny=True, epochs=1, **{"promote": "always", **options}))


@pytest.fixture()
def tiny_trainer() -> Callable[..., Any]:
    """``train_tiny(**options)``: train a tiny model on the built-in shop in the current home."""
    return train_tiny


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A LEPTON_HOME holding one tiny model trained on the built-in shop (trained once per module)."""
    home = tmp_path_factory.mktemp("recommender-home")
    with lepton_env(home):
        train_tiny()
        yield home


@pytest.fixture()
def interactions_csv(tmp_path: Path) -> Path:
    """A small plain CSV (with an items.csv beside it) where every user shares taste with others."""
    rows = ["user_id,item_id,weight,timestamp"]
    for u in range(40):
        group = u % 4
        for j in range(6):
            rows.append(f"user{u},item{group * 6 + j},1,{1_700_000_000 + u * 100 + j}")
    path = tmp_path / "interactions.csv"
    path.write_text("\n".join(rows) + "\n")
    items = ["item_id,title,category"] + [f"item{i},Item number {i},cat{i // 6}" for i in range(24)]
    (tmp_path / "items.csv").write_text("\n".join(items) + "\n")
    return path
