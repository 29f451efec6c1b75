"""The studies section of every app's page: its ``lepton <app> tune`` studies, and a bounded tune to start.

Each page ends with ``studies_section(APP)``. A study is drawn by Optuna's own visualisation module in its
matplotlib flavour (optimisation history, parameter importances, parallel coordinates): the plotly flavour
would add a dependency for the same three figures. A tune started here is the CLI command itself, run as a
background process of this page's server (the same environment, so the same suite database); the page polls
the study in the database to show its progress, since the process shares nothing else with it.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from lepton_shared.ui.urls import service_url

if TYPE_CHECKING:
    import optuna

#: Bounds of a tune started from the page (the CLI has none): an analyst's look, not a night's search.
MAX_TRIALS = 50
MAX_TIMEOUT_S = 3600
#: Seconds between two looks at a running tune's study.
POLL_S = 2.0


@dataclass
class TuneRun:
    """A tune this server process started: its process, study, budget and log."""

    process: subprocess.Popen[bytes]
    study: str
    trials: int
    before: int  # trials the study held when it started
    log: Path
    started: float

    def finished(self) -> bool:
        return self.process.poll() is not None


#: app -> the tune this server started for it (module state outlives Streamlit's reruns of the page script).
RUNS: dict[str, TuneRun] = {}


def app_studies(app: str) -> list[str]:
    """Names of the studies of ``app`` in the suite database, newest first."""
    import optuna

    from lepton_shared.tuning.runner import APP_ATTR
    from lepton_shared.tuning.storage import study_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    summaries = optuna.get_all_study_summaries(study_storage(), include_best_trial=False)
    mine = [s for s in summaries if s.user_attrs.get(APP_ATTR, s.study_name.split("-")[0]) == app]
    return [s.study_name for s in sorted(mine, key=lambda s: s._study_id, reverse=True)]


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """Title -> matplotlib figure; a figure Optuna cannot draw yet (too few complete trials) is left out."""
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as plots

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    figures: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        figures["Optimisation history"] = plots.plot_optimization_history(study).figure
        varied = [name for name in {p for t in complete for p in t.params}
                  if len({repr(t.params.get(name)) for t in complete}) > 1]
        if len(complete) >= 2 and varied:
            try:
                figures["Parameter importances"] = plots.plot_param_importances(study).figure
            except (ValueError, RuntimeError):  # e.g. parameters that only some trials have
                pass
        if complete:
            figures["Parallel coordinates"] = plots.plot_parallel_coordinate(study).figure
    return figures


def _show_study(app: str, name: str) -> None:
    import matplotlib.pyplot as plt

    from lepton_shared.tuning.runner import open_study, summary

    study = open_study(app, name, None, create=False)
    result = summary(app, study)
    best, default = result["best_value"], result["default_value"]
    st.write(f"**{name}**: {result['n_trials']} trials ({result['n_complete']} complete, {result['n_pruned']} "
             f"pruned, {result['n_failed']} failed); {result['direction']} {result['metric']}: best "
             + ("none yet" if best is None else f"**{best:.4f}** (trial {result['best_trial']})")
             + ("" if default is None else f", the defaults {default:.4f}"))
    if result["best_params"]:
        st.caption(f"best parameters: {result['best_params']} · `lepton {app} train --params best --study {name}` "
                   "trains with them")
    figures = study_figures(study)
    columns = st.columns(len(figures))
    for column, (title, figure) in zip(columns, figures.items(), strict=True):
        with column:
            st.caption(title)
            st.pyplot(figure, clear_figure=True)
            plt.close(figure)


def _start(app: str, trials: int, timeout: float, quick: bool) -> TuneRun:
    """Start ``lepton <app> tune`` in the background on the app's built-in data (its tiny options when
    ``quick``), with stdout and stderr to a log beside the suite's other state."""
    from lepton_shared.cli.main import parse_config
    from lepton_shared.manifest import get_manifest
    from lepton_shared.settings import get_settings
    from lepton_shared.tuning.runner import default_study_name, tuner_class

    options = list(get_manifest(app).tiny_train_args) if quick else []
    config = parse_config(app, "train", options)
    name = default_study_name(app, tuner_class(app)(config))  # type: ignore[arg-type]
    before = 0
    if name in app_studies(app):
        from lepton_shared.tuning.runner import open_study

        before = len(open_study(app, name, None, create=False).get_trials(deepcopy=False))
    log = get_settings().home_dir / "tuning" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "lepton_shared.cli.main", app, "tune", *options, "--trials", str(trials),
            "--timeout", str(timeout), "--study", name, "--json"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return TuneRun(process, name, trials, before, log, time.monotonic())


def _progress(app: str) -> None:
    """The running tune's trials so far, polled from the study; a full rerun once it ends redraws the study."""
    from lepton_shared.tuning.runner import open_study

    run = RUNS.get(app)
    if run is None:
        return
    done = 0
    if run.study in app_studies(app):
        from optuna.trial import TrialState

        trials = open_study(app, run.study, None, create=False).get_trials(deepcopy=False)
        done = sum(1 for t in trials[run.before:] if t.state != TrialState.RUNNING)
    if not run.finished():
        st.progress(min(done / run.trials, 1.0),
                    text=f"tuning {run.study}: {done} of {run.trials} trials done "
                         f"({time.monotonic() - run.started:.0f} s)")
        return
    RUNS.pop(app)
    if run.process.returncode == 0:
        st.session_state[f"{app}-tune-message"] = ("success", f"tune {run.study} finished: {done} trials")
    else:
        last = run.log.read_text(errors="replace").strip().splitlines()[-1:] if run.log.exists() else []
        st.session_state[f"{app}-tune-message"] = ("error", f"tune {run.study} stopped: {' '.join(last)}")
    st.session_state[f"{app}-study"] = run.study
    st.rerun(scope="app")


def _start_form(app: str) -> None:
    running = app in RUNS and not RUNS[app].finished()
    with st.form(f"{app}-tune-form"):
        st.write("Start a bounded tune on the built-in data")
        left, middle, right = st.columns(3)
        trials = left.number_input("Trials", min_value=1, max_value=MAX_TRIALS, value=5, step=1)
        timeout = middle.number_input("Time limit (s)", min_value=10, max_value=MAX_TIMEOUT_S, value=600, step=10)
        quick = right.checkbox("Tiny data (seconds per trial)", value=True)
        if st.form_submit_button("Start tuning", disabled=running):
            RUNS[app] = _start(app, int(trials), float(timeout), bool(quick))
            st.rerun()


def studies_section(app: str) -> None:
    """The ``Hyperparameter studies`` section of ``app``'s page."""
    st.divider()
    st.header("Hyperparameter studies")
    st.caption(f"`lepton {app} tune` searches the app's hyperparameters on its validation split; "
               "the studies live in the suite database.")
    message = st.session_state.pop(f"{app}-tune-message", None)
    if message is not None:
        (st.success if message[0] == "success" else st.error)(message[1])
    if app in RUNS:  # polled only while a tune runs: an idle page stays still
        st.fragment(_progress, run_every=POLL_S)(app)
    if service_url(app) is None:
        _start_form(app)
    else:  # as with training, a page that calls a service does not start heavy work on its own host
        st.caption(f"Tune where the service runs: `lepton {app} tune`; its studies appear here.")
    names = app_studies(app)
    if not names:
        st.info(f"No study yet: start one above, or run `lepton {app} tune`.")
        return
    finished = st.session_state.pop(f"{app}-study", None)
    if finished in names:  # a tune just finished here: show its study
        st.session_state[f"{app}-study-pick"] = finished
    name = st.selectbox("Study", names, key=f"{app}-study-pick")
    _show_study(app, str(name))
