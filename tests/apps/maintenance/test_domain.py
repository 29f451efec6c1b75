"""Loaders, simulator, environment, cost accounting and baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env

from apps.maintenance.costs import CostModel
from apps.maintenance.env import REPLACE, RUN, SERVICE, MaintenanceEnv
from apps.maintenance.features import FeatureSpec, make_windows, nasa_score
from apps.maintenance.loaders import load_history
from apps.maintenance.policies import FixedInterval, RandomPolicy, RulThreshold, RunToFailure, score_policy
from apps.maintenance.simulator import SimConfig, simulate_fleet
from lepton_shared.errors import UserError


def _cmapss_rows(units: int = 3, cycles: int = 8) -> str:
    lines = []
    for u in range(1, units + 1):
        for c in range(1, cycles + 1):
            vals = [u, c, 0.001, 0.0, 100.0] + [500 + c * 0.5 + s for s in range(21)]
            lines.append(" ".join(str(v) for v in vals))
    return "\n".join(lines) + "\n"


def test_cmapss_train_and_test_loader(tmp_path: Path) -> None:
    (tmp_path / "train_FD009.txt").write_text(_cmapss_rows())
    train = load_history(tmp_path / "train_FD009.txt")
    assert list(train.columns[:5]) == ["unit", "cycle", "setting_1", "setting_2", "setting_3"]
    assert train.groupby("unit")["rul"].min().tolist() == [0, 0, 0]
    assert train["rul"].max() == 7
    (tmp_path / "test_FD009.txt").write_text(_cmapss_rows())
    with pytest.raises(UserError, match="RUL_FD009"):
        load_history(tmp_path / "test_FD009.txt")
    (tmp_path / "RUL_FD009.txt").write_text("10\n20\n30\n")
    test = load_history(tmp_path / "test_FD009.txt")
    last = test.groupby("unit").tail(1)["rul"].tolist()
    assert last == [10, 20, 30]
    assert test[test.unit == 1]["rul"].iloc[0] == 17


def test_loader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("machine_id,temp\n1,3\n")
    with pytest.raises(UserError, match="time column"):
        load_history(bad)
    bad.write_text("machine_id,time,temp\n1,1,3\n1,1,4\n")
    with pytest.raises(UserError, match="not strictly increasing"):
        load_history(bad)
    bad.write_text("machine_id,time,temp\n1,1,3\n1,2,\n")
    with pytest.raises(UserError, match="NaN"):
        load_history(bad)
    short = tmp_path / "train_FD001.txt"
    short.write_text("1 2 3\n")
    with pytest.raises(UserError, match="26"):
        load_history(short)


def test_generic_csv_with_failure_flags(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("machine_id,time,temp,failure\na,1,1,0\na,2,2,0\na,3,3,1\na,4,1,0\nb,1,5,0\nb,2,6,1\n")
    frame = load_history(path)
    assert frame["rul"].tolist()[:3] == [2, 1, 0]
    assert np.isnan(frame["rul"].iloc[3])  # censored after the last failure
    assert "s_temp" in frame.columns


def test_simulator_wear_grows_and_fails() -> None:
    fleet = simulate_fleet(20, seed=1)
    for _, g in fleet.groupby("unit"):
        assert np.all(np.diff(g["damage"]) > 0)  # wear grows
        assert g["rul"].iloc[-1] == 0
    assert (fleet.groupby("unit")["damage"].max() >= 0.999).all()  # every machine ran to failure
    heavy = simulate_fleet(30, seed=2, cfg=SimConfig(load_levels=(1.3,)))
    light = simulate_fleet(30, seed=2, cfg=SimConfig(load_levels=(0.75,)))
    assert heavy.groupby("unit").size().mean() < light.groupby("unit").size().mean()  # load speeds wear


def test_features_drop_flat_sensors_and_window() -> None:
    fleet = simulate_fleet(6, seed=0)
    spec = FeatureSpec.fit(fleet)
    assert "s_15" not in spec.columns and "s_16" not in spec.columns  # the constant channels
    assert "setting_1" in spec.columns  # load varies, so it is kept
    x, y, _ = make_windows(fleet, spec, last_only=True)
    assert x.shape == (6, 30, len(spec.columns)) and np.all(y == 0)
    assert nasa_score(np.array([10.0]), np.array([20.0])) > nasa_score(np.array([20.0]), np.array([10.0]))


def test_check_env_passes() -> None:
    check_env(MaintenanceEnv(), skip_render_check=True)
    check_env(MaintenanceEnv(decide_below=40), skip_render_check=True)


def test_maintenance_resets_wear() -> None:
    env = MaintenanceEnv(horizon=300)
    env.reset(seed=3)
    for _ in range(30):
        env.step(RUN)
    worn = env.hidden_damage
    env.step(SERVICE)
    assert env.hidden_damage == pytest.approx(worn * 0.3)
    env.step(REPLACE)
    assert env.hidden_damage == 0.0


def test_cost_accounting_of_hand_computed_episode() -> None:
    costs = CostModel(period=10, low_demand_cycles=2, downtime_cost=100, low_demand_factor=0.1,
                      service_cost=50, replace_cost=200, service_downtime=2, replace_downtime=3)
    env = MaintenanceEnv(costs=costs, horizon=20, max_start_damage=0.0)
    env.reset(seed=0)
    total = 0.0
    for _ in range(7):  # t = 0..6 running, no cost
        total += -env.step(RUN)[1]
    assert total == 0.0
    r = env.step(SERVICE)[1]  # t=7: downtime over t=7 (peak) and t=8 (quiet): 50 + 100 + 10
    assert -r * 1000 == pytest.approx(160.0)
    r = env.step(REPLACE)[1]  # t=9 (quiet), 10, 11 (peak): 200 + 10 + 100 + 100
    assert -r * 1000 == pytest.approx(410.0)
    assert env.stats["cost"] == pytest.approx(570.0) and env.stats["operating_cycles"] == 7
    assert env.stats["services"] == 1 and env.stats["replacements"] == 1


def test_baselines_rank_sensibly() -> None:
    make = lambda: MaintenanceEnv(horizon=400)  # noqa: E731
    seeds = range(5)
    rtf = score_policy(RunToFailure(), make, seeds)
    fixed = score_policy(FixedInterval(60, SERVICE), make, seeds)
    thr = score_policy(RulThreshold(20, SERVICE), make, seeds)
    rnd = score_policy(RandomPolicy(), make, seeds)
    assert rtf["failures"] > 0 and rtf["maintenance_count"] == 0
    assert fixed["maintenance_count"] > 0
    assert thr["cost_per_1000_cycles"] < rtf["cost_per_1000_cycles"]
    assert thr["failures"] < rtf["failures"]
    assert rnd["cost_per_1000_cycles"] > thr["cost_per_1000_cycles"]


def test_cost_overrides_are_checked() -> None:
    assert CostModel().with_overrides(downtime_cost=5).downtime_cost == 5
    with pytest.raises(UserError):
        CostModel().with_overrides(nope=1)
    with pytest.raises(UserError):
        CostModel(failure_cost=-1)


@pytest.mark.slow
def test_short_ppo_run_beats_random() -> None:
    from apps.maintenance.policies import SB3Policy
    from apps.maintenance.rl import train_ppo

    model, info = train_ppo(lambda: MaintenanceEnv(horizon=300, decide_below=40), 4096, n_envs=8,
                            eval_seeds=range(2), progress=False)
    make = lambda: MaintenanceEnv(horizon=300)  # noqa: E731
    rl = score_policy(SB3Policy(model, 40), make, range(100, 104))
    rnd = score_policy(RandomPolicy(), make, range(100, 104))
    assert rl["cost_per_1000_cycles"] < 0.5 * rnd["cost_per_1000_cycles"]
    assert info["timesteps"] == 4096


def test_pandas_frame_fixture_sane() -> None:
    assert isinstance(simulate_fleet(2, seed=0), pd.DataFrame)


def test_episode_ends_as_terminated_at_the_horizon() -> None:
    env = MaintenanceEnv(horizon=50, decide_below=40)
    env.reset(seed=1)
    terminated = truncated = False
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(SERVICE if env.rul_estimate < 20 else RUN)
    assert terminated and not truncated and info["t"] >= 50


def test_policies_blind_to_the_estimate_skip_it_with_identical_lives() -> None:
    calls: list[int] = []

    def estimator(rows: np.ndarray) -> np.ndarray:  # draws no random numbers, like the CNN
        calls.append(len(rows))
        return np.full(len(rows), 60.0)

    make = lambda: MaintenanceEnv(estimator=estimator, horizon=300)  # noqa: E731
    scored = score_policy(FixedInterval(50, SERVICE), make, range(3))
    assert not calls  # the estimator was not run
    env = make()
    manual = 0.0
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, term, trunc, _ = env.step(FixedInterval(50, SERVICE)(np.zeros(1), env))
            done = term or trunc
        manual += env.stats["cost"]
    assert calls and scored["total_cost"] == pytest.approx(manual)


def test_seed_cycle_repeats_the_same_evaluation_episodes() -> None:
    from apps.maintenance.rl import SeedCycle

    env = SeedCycle(MaintenanceEnv(horizon=100), seeds=[5, 6])
    first = [env.reset()[0] for _ in range(4)]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[1], first[3])
    assert not np.array_equal(first[0], first[1])
