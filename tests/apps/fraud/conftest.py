"""Shared fixtures: a tiny simulated data set and a quickly fitted registered model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from lepton_shared.testing.env import lepton_env


@pytest.fixture(scope="session")
def small_data() -> pd.DataFrame:
    from apps.fraud.simulator import SimulationConfig, simulate

    return simulate(SimulationConfig(n_customers=200, n_terminals=400, n_days=40, seed=3,
                                     compromised_terminals_per_day=1, compromised_customers_per_day=1))


def register_quick_model(df: pd.DataFrame, rounds: int = 30, promote: bool = True) -> str:
    """Fit a small LightGBM on all of ``df`` and register it (seconds, unlike a full train)."""
    from apps.fraud.features import FEATURES, FeatureConfig, offline_features
    from apps.fraud.policy import CostPolicy
    from apps.fraud.training import fit_lightgbm
    from lepton_shared.evaluation import write_report
    from lepton_shared.registry import Registry

    x = offline_features(df)[FEATURES].to_numpy()
    model = fit_lightgbm(x, df["TX_FRAUD"].to_numpy(), FEATURES, rounds=rounds)

    def write(folder: Path) -> None:
        model.save(folder)
        (folder / "policy.json").write_text(json.dumps(CostPolicy().as_dict()))
        (folder / "features.json").write_text(json.dumps({"delay": FeatureConfig().delay, "features": FEATURES}))
        write_report(folder / "report.html", "Quick fraud model", {"average_precision": 0.0})

    return Registry().register("fraud", write, metrics={"average_precision": 0.0}, promote=promote).version


@pytest.fixture()
def trained_home(tmp_path: Path, small_data: pd.DataFrame) -> Iterator[Path]:
    """A LEPTON_HOME with a quick production model and an API token."""
    with lepton_env(tmp_path / "home", api_token="t0ken") as home:
        register_quick_model(small_data)
        yield home
