"""Replay of recorded run-to-failure engines, cross-fitted estimates and the test-like validation figure."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from gymnasium.utils.env_checker import check_env

from apps.maintenance.costs import CostModel
from apps.maintenance.env import RUN, SERVICE
from apps.maintenance.features import FeatureSpec
from apps.maintenance.model import cross_fit
from apps.maintenance.policies import FixedInterval, RulThreshold, RunToFailure, score_policy
from apps.maintenance.recorded import recorded_lives, truncation_rmse
from apps.maintenance.replay import (
    ReplayEnv,
    compare_on_replay,
    replay_table,
    split_engines,
    tune_replay_baselines,
)
from apps.maintenance.simulator import simulate_fleet
from lepton_shared.testing.env import lepton_env


def _perfect(n: int) -> np.ndarray:
    return np.minimum(np.arange(n)[::-1], 125).astype(float)


def test_replay_env_passes_check_env() -> None:
    check_env(ReplayEnv([_perfect(80), _perfect(120)]), skip_render_check=True)


def test_running_past_the_record_is_one_failure_with_its_cost() -> None:
    costs = CostModel()
    env = ReplayEnv([_perfect(100)], costs)
    env.reset(seed=0)
    start, done, steps = env.t, False, 0
    while not done:
        _, _, done, _, info = env.step(RUN)
        steps += 1
    assert steps == 100 and info["failures"] == 1 and info["operating_cycles"] == 100
    expected = costs.failure_cost + costs.stop_cost(start + 100, costs.failure_downtime)
    assert info["cost"] == expected


def test_a_stop_ends_the_engine_and_loses_its_remaining_life() -> None:
    costs = CostModel()
    env = ReplayEnv([_perfect(100)], costs)
    env.reset(seed=3)
    start = env.t
    for _ in range(60):
        env.step(RUN)
    _, _, done, _, info = env.step(SERVICE)
    assert done and info["failures"] == 0 and info["operating_cycles"] == 60
    assert info["cost"] == costs.service_cost + costs.stop_cost(start + 60, costs.service_downtime)


def test_replay_scores_rank_policies_and_tuning_finds_a_safe_threshold() -> None:
    lives = [_perfect(n) for n in (140, 180, 220, 260)]
    costs = CostModel()
    make = lambda: ReplayEnv(lives, costs)  # noqa: E731
    rtf = score_policy(RunToFailure(), make, range(4))
    safe = score_policy(RulThreshold(8.0, SERVICE), make, range(4))
    assert rtf["failures"] == 4 and safe["failures"] == 0
    assert safe["cost_per_1000_cycles"] < rtf["cost_per_1000_cycles"]
    # a fixed interval longer than the shortest life lets that engine fail
    assert score_policy(FixedInterval(150, SERVICE), make, range(4))["failures"] == 1
    found = tune_replay_baselines(lives, costs)
    params = {k: v.params() for k, v in found.items()}
    result = compare_on_replay(lives, params, costs)
    assert result["rul_threshold"]["failures"] == 0
    assert result["rul_threshold"]["cost_per_1000_cycles"] <= result["fixed_interval"]["cost_per_1000_cycles"]


def test_engine_split_is_disjoint_and_seeded() -> None:
    tune, held = split_engines(10, 0.4, seed=1)
    assert len(held) == 4 and not set(tune) & set(held) and sorted(tune + held) == list(range(10))
    assert split_engines(10, 0.4, seed=1) == (tune, held)


def test_cross_fit_scores_every_machine_out_of_fold() -> None:
    frame = simulate_fleet(10, seed=5).drop(columns=["damage"])
    assert recorded_lives(frame)
    oof = cross_fit(frame, lambda f: FeatureSpec.fit(f, smooth=0.0), folds=5, epochs=1, seed=0, device="cpu",
                    show_progress=False)
    assert oof.shape == (len(frame),) and np.isfinite(oof).all() and (oof >= 0).all()
    assert np.isfinite(truncation_rmse(frame, oof, 125.0))


def test_test_like_rmse_reads_truncation_points_only() -> None:
    frame = pd.DataFrame({"unit": np.repeat([1, 2], 100), "rul": np.tile(np.arange(100)[::-1], 2).astype(float)})
    truth = np.minimum(frame["rul"].to_numpy(), 125.0)
    assert truncation_rmse(frame, truth, 125.0) == 0.0
    assert abs(truncation_rmse(frame, truth + 3.0, 125.0) - 3.0) < 1e-9
    assert not recorded_lives(frame.assign(rul=frame["rul"] + 1))


def _write_cmapss(path: Path, frame: pd.DataFrame) -> None:
    """Simulator histories in the C-MAPSS text layout (unit, cycle, 3 settings, 21 sensors)."""
    sensors = [c for c in frame.columns if c.startswith("s_")]
    rows = []
    for rec in frame.itertuples(index=False):
        values = [getattr(rec, c) for c in sensors]
        rows.append([rec.unit, rec.cycle, rec.setting_1, 0.0, 100.0, *values, *[1.0] * (21 - len(values))])
    path.write_text("\n".join(" ".join(f"{v:.5g}" for v in row) for row in rows) + "\n")


def test_recorded_training_file_gets_cross_fit_and_a_replay_in_evaluate(tmp_path: Path) -> None:
    from apps.maintenance.pipeline import evaluate, train

    data = tmp_path / "train_FD042.txt"
    _write_cmapss(data, simulate_fleet(10, seed=2))
    with lepton_env(tmp_path / "home"):
        info = train(argparse.Namespace(data=data, seed=1, device="cpu", epochs=1, no_promote=False, tiny=True,
                                        cost=None, episodes=2, members=1, rl_steps=512))
        assert info.metrics["validation"].startswith("5-fold")
        assert np.isfinite(info.metrics["test_like_rmse"])
        # recorded data gets the net + trees blend, its weight chosen out of fold and saved with the version
        blend = info.metrics["blend"]
        assert blend["test_like_rmse_by_tree_weight"][f"{blend['tree_weight']:.1f}"] == min(
            blend["test_like_rmse_by_tree_weight"].values())
        assert (info.path / "rul" / "trees.txt").exists()
        out = evaluate(argparse.Namespace(data=data, model=None, seed=1, tiny=True, cost=None, episodes=2))
    assert out["rul_model"]["tree_weight"] == info.metrics["blend"]["tree_weight"]
    replay = out["policies_cmapss_replay"]
    for name in ("rl", "rl_simulator_agent", "run_to_failure", "fixed_interval", "rul_threshold"):
        assert {"cost_per_1000_cycles", "failures"} <= set(replay[name])
        assert replay[name]["episodes"] == 4  # 40 % of the 10 engines, never the tuning ones
    assert replay["run_to_failure"]["failures"] == 4
    table = replay_table(info.metrics)  # what the Streamlit page shows for such a version
    assert table is not None and {"rl", "rul_threshold"} <= set(table.index)
    assert replay_table({"policies": {}}) is None
    # the simple RUL baseline is reported beside the network, with the same metric names
    assert set(info.metrics["baselines"]["ridge_last_window"]) >= {"rmse", "nasa_score", "test_like_rmse"}
    assert out["baselines"]["ridge_last_window"]["rmse"] >= 0


def test_ridge_baseline_learns_and_round_trips(tmp_path: Path) -> None:
    from apps.maintenance.baselines import RidgeRul, fit_frame
    from apps.maintenance.features import make_windows

    train, held = simulate_fleet(30, seed=7), simulate_fleet(6, seed=8)
    spec = FeatureSpec.fit(train, smooth=0.0)
    ridge = fit_frame(train, spec)
    x, y, _ = make_windows(held, spec)
    rmse = float(np.sqrt(np.mean((ridge.predict(x) - y) ** 2)))
    assert rmse < 0.8 * float(np.std(y))  # far better than predicting the mean
    ridge.save(tmp_path / "ridge.npz")
    assert np.allclose(RidgeRul.load(tmp_path / "ridge.npz").predict(x), ridge.predict(x))
    assert np.allclose(ridge.predict_frame(held, spec), ridge.predict(x))
