"""The shared tuning flow with a cheap tuner: JSON keys, defaults as trial 0, failed trials, resume,
two workers sharing one study (SQLite, and PostgreSQL when LEPTON_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any, ClassVar

import pytest

from lepton_shared.config import TrainConfig
from lepton_shared.errors import UserError
from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.tuning import FlakyTuner, QuadraticTuner
from lepton_shared.tuning.runner import DEFAULT_ATTR, open_study, split_budget, tune, tuner_class

KEYS = {"study", "n_trials", "best_value", "best_params", "default_value", "direction"}


def test_a_study_of_three_trials_reports_its_best_and_the_defaults(lepton_home: Path) -> None:
    result = tune("recommender", TrainConfig(), trials=3, study_name="quad", tuner_cls=QuadraticTuner)
    assert set(result) >= KEYS
    assert result["study"] == "quad" and result["n_trials"] == 3 and result["direction"] == "maximize"
    assert result["default_value"] == -16.0  # epochs=3, enqueued as trial 0
    assert result["best_value"] >= result["default_value"]
    assert set(result["best_params"]) == {"epochs"}
    study = open_study("recommender", "quad", None, create=False)
    assert study.trials[0].user_attrs[DEFAULT_ATTR] and study.trials[0].params == {"epochs": 3}


class _Cycle:
    """An object that refers to itself: only the cycle collector frees it."""

    def __init__(self) -> None:
        self.me = self


class CycleTuner(QuadraticTuner):
    """Each trial leaves a reference cycle behind and notes how many objects the collector had frozen."""

    cycles: ClassVar[list[weakref.ref[_Cycle]]] = []
    frozen: ClassVar[list[int]] = []

    def objective(self, params: dict[str, Any], trial: Any) -> float:
        assert all(ref() is None for ref in self.cycles), "the last trial's cycle outlived it"
        self.cycles.append(weakref.ref(_Cycle()))
        self.frozen.append(gc.get_freeze_count())
        return super().objective(params, trial)


def test_trials_reference_cycles_are_collected_while_the_heap_before_them_is_frozen(lepton_home: Path) -> None:
    result = tune("recommender", TrainConfig(), trials=3, study_name="cycles", tuner_cls=CycleTuner)
    assert result["n_failed"] == 0  # no trial found the previous trial's cycle still alive
    assert len(CycleTuner.cycles) == 3 and all(ref() is None for ref in CycleTuner.cycles)
    assert min(CycleTuner.frozen) > 1000  # the imported libraries are out of the per-trial collection's walk
    assert gc.get_freeze_count() == 0  # and back in view once the study is done


def test_the_default_study_name_is_app_and_data(lepton_home: Path) -> None:
    assert tune("recommender", TrainConfig(), trials=1, tuner_cls=QuadraticTuner)["study"] == "recommender-builtin"


def test_a_failing_trial_is_recorded_failed_and_the_study_goes_on(lepton_home: Path) -> None:
    result = tune("recommender", TrainConfig(), trials=4, study_name="flaky", tuner_cls=FlakyTuner)
    assert result["n_trials"] == 4 and result["n_failed"] == 1 and result["n_complete"] == 3
    study = open_study("recommender", "flaky", None, create=False)
    assert study.trials[1].state.name == "FAIL"


def test_running_again_with_the_same_study_adds_trials(lepton_home: Path) -> None:
    tune("recommender", TrainConfig(), trials=2, study_name="again", tuner_cls=QuadraticTuner)
    result = tune("recommender", TrainConfig(), trials=3, study_name="again", tuner_cls=QuadraticTuner)
    assert result["n_trials"] == 5
    study = open_study("recommender", "again", None, create=False)
    assert sum(1 for t in study.trials if t.user_attrs.get(DEFAULT_ATTR)) == 1  # defaults enqueued once


def test_an_interrupted_study_resumes_and_its_silent_trial_is_failed(lepton_home: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-trial leaves it RUNNING; once its heartbeat is older than the grace period, the next run
    of the same study records it as failed and adds its own trials."""
    import time

    from lepton_shared.tuning import storage

    tune("recommender", TrainConfig(), trials=2, study_name="killed", tuner_cls=QuadraticTuner)
    study = open_study("recommender", "killed", None, create=False)
    with pytest.warns(UserWarning, match="Heartbeat"):  # Optuna's note that heartbeats belong to optimize()
        orphan = study.ask()  # the trial the killed worker was running
    study._storage.record_heartbeat(orphan._trial_id)
    monkeypatch.setattr(storage, "GRACE_S", 1)
    time.sleep(1.5)
    result = tune("recommender", TrainConfig(), trials=2, study_name="killed", tuner_cls=QuadraticTuner)
    assert result["n_trials"] == 5 and result["n_complete"] == 4 and result["n_failed"] == 1
    assert open_study("recommender", "killed", None, create=False).trials[2].state.name == "FAIL"


def test_the_budget_is_split_so_the_total_is_the_request() -> None:
    assert split_budget(5, 2) == [3, 2]
    assert split_budget(1, 3) == [1]
    assert split_budget(None, 2) == [None, None]


def test_bad_budgets_and_missing_tuners_are_user_errors(lepton_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    with pytest.raises(UserError, match="--trials"):
        tune("recommender", TrainConfig(), trials=0, tuner_cls=QuadraticTuner)
    with pytest.raises(UserError, match="--workers"):
        tune("recommender", TrainConfig(), trials=1, workers=0, tuner_cls=QuadraticTuner)
    monkeypatch.setitem(sys.modules, "apps.chatbot.tuning", None)  # an app without a tuning module
    with pytest.raises(UserError, match="the chatbot app has no tuner yet"):
        tuner_class("chatbot")


def _two_workers(home: Path, database_url: str | None) -> None:
    with lepton_env(home, database_url=database_url):
        result = tune("recommender", TrainConfig(), trials=7, workers=2, study_name="shared",
                      tuner_cls=QuadraticTuner)
        assert result["n_trials"] == 7 and result["n_complete"] == 7
        study = open_study("recommender", "shared", None, create=False)
        numbers = sorted(t.number for t in study.trials)
        assert numbers == list(range(7))  # one study, none duplicated, none lost
        defaults = [t for t in study.trials if t.user_attrs.get(DEFAULT_ATTR)]
        assert len(defaults) == 1 and defaults[0].state.name == "COMPLETE" and result["default_value"] == -16.0


def test_two_workers_share_one_study_on_sqlite(tmp_path: Path) -> None:
    _two_workers(tmp_path / "home", None)


def test_workers_do_not_rerun_the_callers_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Started from a Streamlit page (or after a test ran one as ``__main__``), spawned workers must not run that
    script again: here it would fail them."""
    import sys
    import types

    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('the caller script ran again in a worker')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    _two_workers(tmp_path / "home", None)
    assert sys.modules["__main__"] is page


@pytest.mark.postgres
def test_two_workers_share_one_study_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    _two_workers(tmp_path / "home", postgres_url)
    with lepton_env(tmp_path / "home2", database_url=postgres_url):  # the suite's own schema is untouched
        from lepton_shared.registry import Registry

        assert Registry().list("recommender") == []
