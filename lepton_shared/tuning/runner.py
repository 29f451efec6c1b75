"""``tune``: an Optuna study of one app's hyperparameters, shared through the suite database.

The flow is the same for every app:

1. the study ``<app>-<data fingerprint or builtin>`` (or ``--study NAME``) is created in, or loaded
   from, the RDB storage on the suite database (:mod:`lepton_shared.tuning.storage`), maximising or
   minimising the manifest's key metric; a new study gets the app's defaults enqueued as trial 0;
2. ``trials`` trials (and/or until ``timeout``) run in this process, or in ``workers`` local workers
   that share the study through the storage, the budget split among them so the total is ``trials``:
   this process is the first worker (it has the data prepared already, and takes the enqueued trials,
   such as the defaults), and it starts the other ``workers - 1`` as ``spawn`` processes once it holds
   every enqueued trial, so their start-up overlaps its first trial. Each of several workers gets
   ``max(1, cores // workers)`` CPU threads (BLAS, OpenMP, torch; :mod:`lepton_shared.tuning.threads`),
   so that together they use each core once; a single worker keeps every core. Every trial records the
   threads its process had in the user attribute ``lepton_threads``;
3. a trial that raises is recorded as failed and the study goes on; a pruned one as pruned;
4. the result: the study's best value and parameters, and the default's value to compare with.

Progress goes to stderr (one bar: trials done, best so far, ETA); stdout stays free for the JSON.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from lepton_shared.config import TrainConfig
from lepton_shared.errors import UserError
from lepton_shared.spawn import hidden_main
from lepton_shared.tuning.base import AppTuner
from lepton_shared.tuning.threads import THREADS_ATTR, child_env, limited_threads, threads_in_use, threads_per_worker

if TYPE_CHECKING:
    import optuna

#: The user attribute that marks the enqueued defaults (trial 0 of a new study).
DEFAULT_ATTR = "lepton_default"
#: The study's user attribute naming its app (the page lists an app's studies by it, whatever their names).
APP_ATTR = "lepton_app"
#: Trials when neither ``trials`` nor ``timeout`` is given.
DEFAULT_TRIALS = 20
#: How often the parent of several workers reads the study to move its progress bar (seconds).
POLL_S = 1.0


def tuner_class(app_name: str) -> type[AppTuner]:
    """``apps.<app_name>.tuning.TUNER_CLASS``, or a UserError when the app has none."""
    from lepton_shared.app import app_part

    cls: type[AppTuner] = app_part(app_name, "tuning", "TUNER_CLASS", f"the {app_name} app has no tuner yet")
    return cls


def default_study_name(app_name: str, tuner: AppTuner) -> str:
    """``<app>-<data fingerprint or builtin>``: one study per app and data set."""
    return f"{app_name}-{tuner.data_key()}"


def direction(app_name: str) -> Literal["maximize", "minimize"]:
    """``maximize`` or ``minimize``, from the manifest's ``higher_is_better``."""
    from lepton_shared.manifest import get_manifest

    return "maximize" if get_manifest(app_name).higher_is_better else "minimize"


def split_budget(trials: int | None, workers: int) -> list[int | None]:
    """Trials per worker, summing to ``trials`` (None: each runs until the timeout); no empty workers."""
    if trials is None:
        return [None] * workers
    base, extra = divmod(trials, workers)
    return [n for n in (base + (1 if i < extra else 0) for i in range(workers)) if n > 0]


def open_study(app_name: str, name: str, tuner: AppTuner | None, database_url: str | None = None,
               create: bool = True) -> optuna.Study:
    """The study ``name`` in the suite database: created (with the defaults as trial 0) when ``create``
    and absent, loaded otherwise; a UserError when it must exist and does not."""
    import optuna

    from lepton_shared.tuning.storage import study_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = study_storage(database_url)
    if not create:
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
            raise UserError(f"no study named {name!r}; run `lepton {app_name} tune` first"
                            + (f" (studies: {', '.join(known)})" if known else "")) from None
    study = optuna.create_study(study_name=name, storage=storage, direction=direction(app_name),
                                load_if_exists=True)
    if tuner is not None and not study.get_trials(deepcopy=False):
        study.set_user_attr(APP_ATTR, app_name)
        study.enqueue_trial(tuner.defaults(), user_attrs={DEFAULT_ATTR: True})
    return study


def _objective(tuner: AppTuner, on_start: Callable[[optuna.Study], None] | None = None) -> Any:
    def objective(trial: optuna.Trial) -> float:
        if on_start is not None:
            on_start(trial.study)
        trial.set_user_attr(THREADS_ATTR, threads_in_use())
        return float(tuner.objective(tuner.suggest(trial), trial))

    return objective


def _run_trials(study: optuna.Study, tuner: AppTuner, trials: int | None, timeout: float | None,
                callbacks: list[Any], on_start: Callable[[optuna.Study], None] | None = None) -> None:
    """Run trials in this process; any exception of a trial marks it failed and the study goes on.
    ``on_start(study)`` is called as each trial starts, once the trial holds its row.

    A full garbage collection after each trial frees what a trial's reference cycles hold (a torch trial's
    model and optimiser) before the next one allocates. Done over the whole heap, it walked the ~300,000
    objects of the imported libraries and the prepared data every time: 0.27 s a trial, a fifth of a
    light recommender study. Those objects live as long as the process, so they are frozen out of the
    collector's view first (``gc.freeze``) and each collection walks only what the trials created.
    """
    import gc

    gc.collect()
    gc.freeze()
    try:
        study.optimize(_objective(tuner, on_start), n_trials=trials, timeout=timeout, catch=(Exception,),
                       callbacks=callbacks, gc_after_trial=True)
    finally:
        gc.unfreeze()


def _worker(tuner_cls: type[AppTuner], app_name: str, config: TrainConfig, name: str, trials: int | None,
            timeout: float | None, database_url: str | None, threads: int) -> None:
    """One spawned worker process of ``tune(workers=N)`` (module level, so ``spawn`` can start it); its
    environment already holds the thread budget, applied here again to the libraries unpickling loaded."""
    with contextlib.redirect_stdout(sys.stderr), limited_threads(threads):
        tuner = tuner_cls(config)
        study = open_study(app_name, name, None, database_url, create=False)
        _run_trials(study, tuner, trials, timeout, [])


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no complete trial yet
        return None


def _bar_postfix(study: optuna.Study) -> str:
    best = _best(study)
    return "best: none yet" if best is None else f"best {best.value:.4f} (trial {best.number})"


def summary(app_name: str, study: optuna.Study, database_url: str | None = None) -> dict[str, Any]:
    """The JSON-able result: the study, its best trial and the default's value to compare with."""
    from optuna.trial import TrialState
    from sqlalchemy.engine import make_url

    from lepton_shared.manifest import get_manifest
    from lepton_shared.tuning.storage import storage_url

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials]
    best = _best(study)
    default = next((t for t in trials if t.user_attrs.get(DEFAULT_ATTR) and t.state == TrialState.COMPLETE), None)
    return {
        "study": study.study_name,
        "metric": get_manifest(app_name).key_metric,
        "direction": study.direction.name.lower(),
        "n_trials": len(trials),
        "n_complete": states.count(TrialState.COMPLETE),
        "n_failed": states.count(TrialState.FAIL),
        "n_pruned": states.count(TrialState.PRUNED),
        "best_trial": None if best is None else best.number,
        "best_value": None if best is None else best.value,
        "best_params": {} if best is None else best.params,
        "default_value": None if default is None else default.value,
        "storage": make_url(storage_url(database_url)[0]).render_as_string(hide_password=True),
    }


def tune(app_name: str, config: TrainConfig, trials: int | None = None, timeout: float | None = None,
         workers: int = 1, study_name: str | None = None, database_url: str | None = None,
         tuner_cls: type[AppTuner] | None = None) -> dict[str, Any]:
    """Run (or continue) the study of ``app_name`` on ``config``'s data; the JSON-able :func:`summary`.

    ``tuner_cls`` defaults to the app's ``TUNER_CLASS`` (tests pass a cheap one).
    """
    from tqdm import tqdm

    if trials is not None and trials < 1:
        raise UserError("--trials must be at least 1")
    if timeout is not None and timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if trials is None and timeout is None:
        trials = DEFAULT_TRIALS
    tuner_cls = tuner_cls or tuner_class(app_name)
    tuner = tuner_cls(config)
    name = study_name or default_study_name(app_name, tuner)
    with contextlib.redirect_stdout(sys.stderr):
        study = open_study(app_name, name, tuner, database_url)
        before = len(study.get_trials(deepcopy=False))
        bar = tqdm(total=trials, desc=f"tune {name}", unit="trial", file=sys.stderr, dynamic_ncols=True)

        def advance(study: optuna.Study, _trial: optuna.trial.FrozenTrial | None = None) -> None:
            done = sum(1 for t in study.get_trials(deepcopy=False)[before:] if t.state.is_finished())
            bar.set_postfix_str(_bar_postfix(study), refresh=False)
            bar.update(done - bar.n)

        try:
            if workers == 1:
                _run_trials(study, tuner, trials, timeout, [advance])
            else:
                _run_parallel(tuner, app_name, config, name, trials, timeout, workers, database_url, study,
                              advance)
        finally:
            bar.close()
    return summary(app_name, study, database_url)


def _run_parallel(tuner: AppTuner, app_name: str, config: TrainConfig, name: str, trials: int | None,
                  timeout: float | None, workers: int, database_url: str | None, study: optuna.Study,
                  advance: Callable[[optuna.Study], None]) -> None:
    """This process as the first of ``workers`` workers, the others spawned (fresh processes: no torch or
    database state crosses a fork) as soon as this one holds every enqueued trial: SQLite has no row locks, so
    two processes could both take the same waiting trial. Fails when a spawned worker died rather than
    finished."""
    from optuna.trial import TrialState

    threads = threads_per_worker(workers)
    waiting = len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
    first = waiting if trials is None else min(waiting, trials)
    shares = split_budget(None if trials is None else trials - first, workers)
    own = None if trials is None else first + (shares[0] or 0 if shares else 0)
    procs: list[Any] = []

    def start_others(study: optuna.Study) -> None:
        if procs or len(shares) < 2 or study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return
        ctx = multiprocessing.get_context("spawn")
        procs.extend(ctx.Process(target=_worker, name=f"lepton-tune-{i}",
                                 args=(type(tuner), app_name, config, name, n, timeout, database_url, threads))
                     for i, n in enumerate(shares[1:], start=1))
        with hidden_main():
            for proc in procs:
                proc.start()

    with child_env(threads), limited_threads(threads):
        try:
            if own is None or own > 0:
                _run_trials(study, tuner, own, timeout, [advance], on_start=start_others)
            start_others(study)  # this process had no trial of its own to start them from
            while any(p.is_alive() for p in procs):
                time.sleep(POLL_S)
                advance(study)
        finally:
            for proc in procs:
                proc.join()
    advance(study)
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise UserError(f"tuning worker(s) {', '.join(failed)} stopped with an error (see above); the trials they "
                        f"finished are in study {name!r}")
