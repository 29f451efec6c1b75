"""The recommender's tuner: its search space gives valid configs, ``tune --json`` on the tiny shop, and
``train --params best`` serves the best trial's model and records where it came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna

from apps.recommender.config import RecommenderTrainConfig
from apps.recommender.training import SERVING_FAMILIES, chosen_model
from apps.recommender.tuning import RecommenderTuner
from lepton_shared.tuning.best import apply_params


def test_the_search_space_samples_valid_configs(lepton_home: Path) -> None:
    tuner = RecommenderTuner(RecommenderTrainConfig(tiny=True, epochs=1))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    low, high = tuner._l2_bounds()
    families = set()
    for _ in range(12):
        params = tuner.suggest(study.ask())
        config = apply_params(tuner.config, params)
        grid = chosen_model(config, tuner.prepared.mean_item_count)
        assert grid is not None and list(grid) == [config.family] and config.family in SERVING_FAMILIES
        families.add(config.family)
        if config.family == "ease":
            assert low <= grid["ease"][0]["l2"] <= high
        else:
            assert 10 <= grid["item_knn_bm25"][0]["k"] <= 500
    assert families == set(SERVING_FAMILIES)
    defaults = apply_params(tuner.config, tuner.defaults())
    assert defaults.family == "ease" and low <= (defaults.ease_l2 or 0) <= high
    assert tuner.data_key() == "builtin-tiny"


def _cli(home: Path, command: str, *argv: str, group: str = "recommender") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEPTON_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("LEPTON_DATABASE_URL", None)
    words = [group, command, *argv] if group == "recommender" else [group, command, "recommender", *argv]
    return subprocess.run([sys.executable, "-m", "lepton_shared.cli.main", *words],
                          capture_output=True, text=True, env=env, timeout=300)


def test_tune_json_then_train_with_the_best_params(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = _cli(home, "tune", "--tiny", "--trials", "3", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["study"] == "recommender-builtin-tiny" and result["n_trials"] == 3
    assert result["direction"] == "maximize" and result["metric"] == "ndcg_at_10"
    assert 0 < result["default_value"] <= result["best_value"] <= 1
    assert result["best_params"]["family"] in SERVING_FAMILIES
    assert "trial" in proc.stderr  # the progress bar

    # --promote always: this test is about where the parameters came from, not the gate (on tiny data the tuned
    # family can lose to popularity, and the version would then stay a candidate)
    proc = _cli(home, "train", "--tiny", "--epochs", "1", "--params", "best", "--promote", "always")
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(_cli(home, "show", group="models").stdout)
    params = info["params"]
    assert params["tuned_from"] == {"study": result["study"], "trial": result["best_trial"],
                                    "value": result["best_value"]}
    assert params["tuned_params"] == result["best_params"]
    assert params["family"] == result["best_params"]["family"]
    # the objective is train's own validation score: the same number for the same parameters
    assert abs(info["metrics"]["val_ndcg_at_10"] - result["best_value"]) < 1e-9
