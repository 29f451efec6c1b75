"""The thread budget of ``tune --workers N``: computed per worker, applied in every worker, undone afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import numpy  # noqa: F401  (its BLAS pool, loaded before the limits are read)
import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.tuning import NumpyTuner
from lepton_shared.tuning import threads
from lepton_shared.tuning.runner import open_study, tune


@pytest.mark.parametrize(("workers", "cores", "expected"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8), (3, 16, 5)])
def test_each_worker_gets_its_share_of_the_cores(workers: int, cores: int, expected: int) -> None:
    assert threads.threads_per_worker(workers, cores) == expected


def test_the_child_environment_is_set_only_while_children_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with threads.child_env(1):
        assert all(os.environ[name] == "1" for name in threads.THREAD_ENV_VARS)
    assert os.environ["OMP_NUM_THREADS"] == "7" and "MKL_NUM_THREADS" not in os.environ


def test_two_workers_on_two_cores_run_every_trial_with_one_thread(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Trial 0 and the parent's share run here, the rest in a spawned worker; each trial records its threads."""
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    before = threads.threads_in_use()
    with lepton_env(tmp_path / "home"):
        result = tune("recommender", TrainConfig(), trials=5, workers=2, study_name="threads", tuner_cls=NumpyTuner)
        assert result["n_complete"] == 5
        trials = open_study("recommender", "threads", None, create=False).trials
    used = [t.user_attrs[threads.THREADS_ATTR] for t in trials]
    assert all(u["blas"] == 1 and u.get("openmp", 1) == 1 for u in used), used
    assert before["blas"] >= 1 and threads.threads_in_use()["blas"] == before["blas"]  # the caller's own are back


def test_one_worker_keeps_every_thread(lepton_home: Path) -> None:
    before = threads.threads_in_use()
    tune("recommender", TrainConfig(), trials=2, study_name="one", tuner_cls=NumpyTuner)
    trials = open_study("recommender", "one", None, create=False).trials
    assert [t.user_attrs[threads.THREADS_ATTR]["blas"] for t in trials] == [before["blas"]] * 2
