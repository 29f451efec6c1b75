"""Training and evaluation end to end: the recipe each kind of data gets, and the sizes of a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apps.maintenance.config import MaintenanceEvaluateConfig, MaintenanceTrainConfig
from apps.maintenance.simulator import simulate_fleet
from apps.maintenance.training import TINY, Budget, budget_of, evaluate, train
from lepton_shared.testing.env import lepton_env
from lepton_shared.ui import AppClient, reset_local


def _write_cmapss(path: Path, frame: pd.DataFrame) -> None:
    """Simulator histories in the C-MAPSS text layout (unit, cycle, 3 settings, 21 sensors)."""
    sensors = [c for c in frame.columns if c.startswith("s_")]
    rows = []
    for rec in frame.itertuples(index=False):
        values = [getattr(rec, c) for c in sensors]
        rows.append([rec.unit, rec.cycle, rec.setting_1, 0.0, 100.0, *values, *[1.0] * (21 - len(values))])
    path.write_text("\n".join(" ".join(f"{v:.5g}" for v in row) for row in rows) + "\n")


def test_recorded_training_file_gets_cross_fit_and_a_replay_in_evaluate(tmp_path: Path) -> None:
    data = tmp_path / "train_FD042.txt"
    _write_cmapss(data, simulate_fleet(10, seed=2))
    with lepton_env(tmp_path / "home"):
        info = train(MaintenanceTrainConfig(data=data, seed=1, device="cpu", epochs=1, tiny=True, episodes=2,
                                            members=1, rl_steps=512, promote="always"))
        assert info.metrics["validation"].startswith("5-fold")
        assert np.isfinite(info.metrics["test_like_rmse"])
        # recorded data gets the net + trees blend, its weight chosen out of fold and saved with the version
        blend = info.metrics["blend"]
        assert blend["test_like_rmse_by_tree_weight"][f"{blend['tree_weight']:.1f}"] == min(
            blend["test_like_rmse_by_tree_weight"].values())
        assert (info.path / "rul" / "trees.txt").exists()
        out = evaluate(MaintenanceEvaluateConfig(data=data, seed=1, tiny=True, episodes=2))
        reset_local("maintenance")
        try:  # what the page shows of such a version
            shown = AppClient("maintenance").get("/v1/policies")["replay"]
        finally:
            reset_local("maintenance")
    assert out["rul_model"]["tree_weight"] == info.metrics["blend"]["tree_weight"]
    replay = out["policies_cmapss_replay"]
    for name in ("rl", "rl_simulator_agent", "run_to_failure", "fixed_interval", "rul_threshold"):
        assert {"cost_per_1000_cycles", "failures"} <= set(replay[name])
        assert replay[name]["episodes"] == 4  # 40 % of the 10 engines, never the tuning ones
    assert replay["run_to_failure"]["failures"] == 4
    assert set(shown["policies"]) == {"rl", "rl_simulator_agent", "run_to_failure", "fixed_interval", "rul_threshold"}
    assert shown["setup"].startswith("4 held-out recorded training engines")
    # the simple RUL baseline is reported beside the network, with the same metric names
    assert set(info.metrics["baselines"]["ridge_last_window"]) >= {"rmse", "nasa_score", "test_like_rmse"}
    assert out["baselines"]["ridge_last_window"]["rmse"] >= 0


def test_budget_is_the_recipe_with_the_options_applied() -> None:
    assert budget_of(MaintenanceTrainConfig()) == Budget()
    assert budget_of(MaintenanceTrainConfig(tiny=True)) == TINY
    tiny = budget_of(MaintenanceTrainConfig(tiny=True, epochs=1, members=2, rl_steps=0, episodes=3))
    assert (tiny.held_out_epochs, tiny.recorded_epochs, tiny.members, tiny.rl_steps, tiny.episodes) == (1, 1, 2, 0, 3)
    assert tiny.machines == TINY.machines and tiny.estimator_epochs == TINY.estimator_epochs
    assert budget_of(MaintenanceEvaluateConfig(episodes=7)) == Budget(episodes=7)
    assert Budget().held_out_epochs == 60 and Budget().recorded_epochs == 40
    coarse = budget_of(MaintenanceTrainConfig(coarse_baselines=True))
    assert coarse.quick_tuning and coarse.tuning_seeds == 12 < Budget().tuning_seeds
    assert budget_of(MaintenanceTrainConfig(tiny=True, coarse_baselines=True)).tuning_seeds == TINY.tuning_seeds


@pytest.mark.slow
def test_an_untrained_agent_is_not_registered_as_the_policy(tmp_path: Path) -> None:
    """No PPO steps at all: the agent acts on its initial weights, loses to the tuned rules on the tuning seeds,
    and the version's policy, card (metrics and params), policy.json and /v1/policies name the best rule."""
    import html
    import json

    with lepton_env(tmp_path / "home"):
        info = train(MaintenanceTrainConfig(seed=1, device="cpu", epochs=1, tiny=True, episodes=2, members=1,
                                            rl_steps=0, promote="always"))
        reset_local("maintenance")
        try:
            shown = AppClient("maintenance").get("/v1/policies")["policy"]
        finally:
            reset_local("maintenance")
        out = evaluate(MaintenanceEvaluateConfig(seed=1, tiny=True, episodes=2))
    check = info.metrics["policy_check"]
    costs = check["tuning_cost_per_1000_cycles"]
    assert costs["rl"] >= min(costs[name] for name in ("run_to_failure", "fixed_interval", "rul_threshold"))
    assert info.metrics["policy_fallback"] is True and info.params["policy_fallback"] is True
    assert info.metrics["policy"] == info.params["policy"] == check["best_rule"] != "rl"
    assert costs[check["best_rule"]] == min(v for k, v in costs.items() if k != "rl")
    assert json.loads((info.path / "policy.json").read_text())["policy"] == check == shown
    assert "falls back to" in check["note"] and html.escape(check["note"]) in (info.path / "report.html").read_text()
    assert info.metrics["policy_saving_vs_best_baseline"] == pytest.approx(
        1 - info.metrics["policies"][check["best_rule"]]["cost_per_1000_cycles"]
        / min(v["cost_per_1000_cycles"] for k, v in info.metrics["policies"].items() if k != "rl"), abs=1e-4)
    assert out["policy"] == check["best_rule"] and out["policy_fallback"] is True
