"""``make demo`` (services/demo.py): what it trains, what it starts, and that it stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from services import demo
from services.demo import ServiceSpec, Supervisor

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _write_stub(folder: Path) -> None:
    (folder / "w.bin").write_bytes(b"\0")


def _register_dummy(app: str) -> None:
    from lepton_shared.registry import Registry

    Registry().register(app, _write_stub, metrics={"accuracy": 1.0})


def _demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not re.fullmatch(r"LEPTON_[A-Z]+_URL", k)}
    env.update(LEPTON_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("LEPTON_DATABASE_URL", None)
    return env


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
        return True
    except httpx.HTTPError:
        return False


def test_only_apps_without_a_production_model_are_trained(lepton_home: Path) -> None:
    _register_dummy("fraud")
    assert demo.apps_without_model(["chatbot", "fraud", "maintenance"]) == ["chatbot", "maintenance"]


def test_busy_default_port_is_replaced_by_a_free_one() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        port = demo.choose_port(busy)
        assert port != busy and demo.port_is_free(port)
    assert demo.choose_port(port, taken={port}) != port


def test_unknown_app_is_a_one_line_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "services.demo", "--apps", "nope", "--check"], cwd=ROOT,
                          env=_demo_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "unknown app 'nope'" in proc.stderr


def test_supervisor_serves_checks_and_stops_a_real_service(lepton_home: Path) -> None:
    """The demo's process handling, on the example service with a trained model and the suite UI."""
    from lepton_shared.testing.example import register_example
    from lepton_shared.testing.server import free_port

    version = register_example(epochs=1).version
    spec = ServiceSpec("example", "example_entry:app", free_port(), app_dir=str(HERE))
    supervisor = Supervisor(demo.child_env(lepton_home))
    with supervisor.running():
        ui_url = demo.start_all(supervisor, [spec], free_port(), "127.0.0.1", timeout=120)
        assert ui_url is not None
        check = demo.check_service(spec)
        assert check.live and check.ready and version in check.detail
        assert demo.check_ui(ui_url).passed(allow_untrained=False)
        procs = list(supervisor.procs.values())
        assert all(p.poll() is None for p in procs)
    assert all(p.returncode is not None for p in procs)
    assert not _answers(f"{spec.url}/healthz") and not _answers(f"{ui_url}/_stcore/health")
    dead = demo.check_service(spec)
    assert not dead.live and not dead.passed(allow_untrained=True)


def test_untrained_service_passes_check_only_with_skip_train(lepton_home: Path) -> None:
    from lepton_shared.testing.server import free_port

    spec = ServiceSpec("example", "example_entry:app", free_port(), app_dir=str(HERE))
    supervisor = Supervisor(demo.child_env(lepton_home))
    with supervisor.running():
        demo.start_all(supervisor, [spec], None, "127.0.0.1", timeout=120)
        check = demo.check_service(spec)
    assert check.live and not check.ready and "no example model" in check.detail
    assert check.passed(allow_untrained=True) and not check.passed(allow_untrained=False)


@pytest.mark.slow
def test_demo_check_starts_every_app_and_stops(tmp_path: Path) -> None:
    """`python -m services.demo --check --skip-train` over whichever apps this build has."""
    from lepton_shared.app import available_apps
    from lepton_shared.testing.server import free_port

    proc = subprocess.run([sys.executable, "-m", "services.demo", "--check", "--skip-train",
                           "--ui-port", str(free_port())], cwd=ROOT, env=_demo_env(tmp_path / "home"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert "demo check passed" in proc.stdout and "Traceback" not in proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    served = [app for app in available_apps() if demo.has_entry_point(app)]
    assert sorted(line.split()[1] for line in lines) == sorted([*served, "ui"])
    for url in re.findall(r"http://127\.0\.0\.1:\d+", proc.stdout):
        assert not _answers(f"{url}/healthz"), f"{url} still answers after the demo stopped"


@pytest.mark.slow
def test_sigterm_stops_every_child(tmp_path: Path) -> None:
    """What Ctrl-C / `kill` does to a running demo: the summary is printed, then everything stops."""
    from lepton_shared.testing.server import free_port

    proc = subprocess.Popen([sys.executable, "-m", "services.demo", "--skip-train", "--ui-port", str(free_port())],
                            cwd=ROOT, env=_demo_env(tmp_path / "home"), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            out.append(line)
            if line.startswith("Press Ctrl-C") or time.monotonic() > deadline:
                break
        urls = re.findall(r"http://127\.0\.0\.1:\d+", "".join(out))
        assert urls and "Streamlit suite" in "".join(out), out
        assert all(_answers(u) for u in urls)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    for url in urls:
        assert not _answers(url), f"{url} still answers after SIGTERM"


def _heavier_options(app: str, options: list[str]) -> list[str]:
    """What in ``options`` does not make ``lepton <app> train`` lighter than its defaults (empty: all lighter).

    Numbers must be smaller than the default (``--epochs`` against the app's ``default_epochs``, an
    option without a default against the "default N" its help states), switches must be turned on,
    comma-separated choices must be a strict subset of the default ones, and --seed, --device, --data
    and --promote / --tolerance never count as lighter."""
    import argparse

    from lepton_shared.app import get_app
    from lepton_shared.cli.main import build_parser

    parser = build_parser(app)
    defaults = vars(parser.parse_args([app, "train"]))
    chosen = vars(parser.parse_args([app, "train", *options]))
    changed = [k for k in chosen if chosen[k] != defaults[k]]
    if options and not changed:
        return [f"{options} change nothing"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[app]
    train = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    actions = {a.dest: a for a in train._actions}
    problems = []
    for key in changed:
        value, default = chosen[key], defaults[key]
        if default is None and key == "epochs":
            default = get_app(app).default_epochs
        elif default is None and isinstance(value, (int, float)):
            found = re.search(r"default (\d[\d_,]*)", actions[key].help or "")
            default = int(found.group(1).replace(",", "").replace("_", "")) if found else None
        if key in ("seed", "device", "data", "promote", "tolerance"):
            lighter = False  # these change what is trained or where, not how much
        elif isinstance(value, bool):
            lighter = value and not default
        elif isinstance(value, (int, float)) and isinstance(default, (int, float)):
            lighter = value < default
        elif isinstance(value, str) and isinstance(default, str):
            lighter = set(value.split(",")) < set(default.split(","))
        else:
            lighter = False
        if not lighter:
            problems.append(f"--{key.replace('_', '-')} {value!r} is not lighter than the default {default!r}")
    return problems


def test_lighter_option_check_tells_lighter_from_heavier() -> None:
    from lepton_shared.app import app_installed, get_app
    from lepton_shared.manifest import app_names

    app = next((a for a in app_names() if app_installed(a)), None)
    if app is None:
        pytest.skip("no app in this build")
    default = get_app(app).default_epochs
    assert _heavier_options(app, []) == []
    assert _heavier_options(app, ["--tiny", "--epochs", "1"]) == []
    assert _heavier_options(app, ["--epochs", str(default + 10)])
    assert _heavier_options(app, ["--epochs", str(default)])  # the default itself is not lighter
    assert _heavier_options(app, ["--seed", "7"])  # changes something, but nothing lighter


def test_demo_trains_with_each_apps_lighter_options() -> None:
    from lepton_shared.app import app_installed, get_app
    from lepton_shared.manifest import app_names

    for app in app_names():
        if not app_installed(app):
            continue
        declared = list(get_app(app).manifest.demo_train_args)
        cmd = demo.train_command(app)
        assert cmd[:5] == [sys.executable, "-m", "lepton_shared.cli.main", app, "train"]
        assert cmd[5:] == [*declared, "--promote", "always"]
        assert _heavier_options(app, declared) == [], app


def test_demo_passes_the_lighter_options_to_the_training_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """``train_app`` runs ``lepton <app> train`` with the app's demo options, and only those."""
    from lepton_shared.app import app_installed, get_app
    from lepton_shared.manifest import app_names

    app = next((a for a in app_names() if app_installed(a)), None)
    if app is None:
        pytest.skip("no app in this build")
    from dataclasses import replace

    lighter = replace(get_app(app).manifest, demo_train_args=("--tiny", "--epochs", "1"))
    monkeypatch.setattr(type(get_app(app)), "manifest", property(lambda self: lighter))
    started: list[list[str]] = []

    class FakeTraining:
        def __init__(self, cmd: list[str], **_: object) -> None:
            started.append(list(cmd))

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(demo.subprocess, "Popen", FakeTraining)
    assert demo.train_app(app, dict(os.environ)) is True
    assert started == [[sys.executable, "-m", "lepton_shared.cli.main", app, "train", "--tiny", "--epochs", "1",
                        "--promote", "always"]]
    assert _heavier_options(app, started[0][5:-2]) == []


def test_slow_apps_are_trained_last_after_a_quick_model_and_the_rest_in_the_given_order() -> None:
    from services.demo import Job

    assert demo.training_jobs(["maintenance", "chatbot", "fraud"]) == [
        Job("chatbot"), Job("fraud"), Job("maintenance", quick=True), Job("maintenance")]
    assert demo.training_jobs(["fraud", "chatbot"]) == [Job("fraud"), Job("chatbot")]
    # an app already serving a quick model of an earlier run gets only its full training
    assert demo.training_jobs(["maintenance", "fraud"], serving={"maintenance"}) == [Job("fraud"), Job("maintenance")]


def test_quick_model_options_are_lighter_than_the_full_recipe() -> None:
    from lepton_shared.app import app_installed, get_app
    from lepton_shared.manifest import app_names

    quick = {app: list(get_app(app).manifest.demo_quick_train_args) for app in app_names() if app_installed(app)}
    assert any(quick.values()), "no app declares a quick demo model"
    for app, options in quick.items():
        if options:
            assert demo.train_command(app, quick=True)[5:] == [*options, "--promote", "always"]
            assert _heavier_options(app, options) == [], app


def test_background_training_reports_each_app_and_survives_a_failing_trainer(tmp_path: Path) -> None:
    from services.demo import Finished
    from services.demo_status import StatusFile, pending_training

    def trainer(app: str, _env: dict[str, str], quick: bool = False) -> bool:
        if app == "chatbot":
            raise RuntimeError("boom")
        return app == "fraud"

    training = demo.BackgroundTraining(["maintenance", "chatbot", "fraud"], {}, trainer, StatusFile(tmp_path))
    with training.running():
        done: list[Finished] = []
        while len(done) < 4:
            done += training.finished(wait=5.0)
        assert done == [Finished("chatbot", False), Finished("fraud", True), Finished("maintenance", False, True),
                        Finished("maintenance", False)]
        assert pending_training(tmp_path) == {}
    assert not (tmp_path / "demo-status.json").exists()


def test_quick_model_is_served_and_named_until_the_full_one_replaces_it(lepton_home: Path) -> None:
    """The card of an app serving its quick model says so, with the step its full training reports; the full
    model clears the mark, and a demo stopped before that resumes only the full training."""
    import threading

    from lepton_shared import progress_file
    from lepton_shared.registry import Registry
    from services.demo import Finished
    from services.demo_status import StatusFile, quick_models
    from services.ui.home import build_card

    full_may_end = threading.Event()
    seen: dict[str, object] = {}

    def trainer(app: str, env: dict[str, str], quick: bool = False) -> bool:
        if not quick:
            seen["reports to"] = env[progress_file.ENV]
            os.environ[progress_file.ENV] = env[progress_file.ENV]  # what the training process inherits
            try:
                progress_file.report("training the PPO agent", 60, 100)
            finally:
                del os.environ[progress_file.ENV]
            full_may_end.wait(30)
        _register_dummy(app)
        return True

    status = StatusFile(lepton_home)
    training = demo.BackgroundTraining(["maintenance"], {}, trainer, status)
    with training.running():
        assert training.finished(wait=30.0) == [Finished("maintenance", True, True)]
        quick_version = Registry().production_version("maintenance")
        assert quick_models(lepton_home) == {"maintenance": quick_version}
        assert demo.serving_quick_models(["maintenance", "fraud"], lepton_home) == ["maintenance"]
        deadline = time.monotonic() + 30
        while "reports to" not in seen or "60 %" not in (build_card("maintenance", check_service=False).quick or ""):
            assert time.monotonic() < deadline, build_card("maintenance", check_service=False)
            time.sleep(0.1)
        card = build_card("maintenance", check_service=False)
        assert card.model_version == quick_version and card.training is None
        assert card.quick == "quick demo model, full training in progress: training the PPO agent 60 % (60 of 100)"
        full_may_end.set()
        assert training.finished(wait=30.0) == [Finished("maintenance", True)]
    assert Registry().production_version("maintenance") != quick_version
    assert quick_models(lepton_home) == {} and build_card("maintenance", check_service=False).quick is None
    assert demo.serving_quick_models(["maintenance"], lepton_home) == []


def test_each_ended_training_gets_one_line_saying_what_is_usable(capsys: pytest.CaptureFixture[str]) -> None:
    from services.demo import Finished

    spec = ServiceSpec("maintenance", "services.asgi:app", 8105)
    lines = {}
    for done, waiting in ((Finished("maintenance", True, True), True), (Finished("maintenance", False, True), True),
                          (Finished("maintenance", True), False), (Finished("maintenance", False), False),
                          (Finished("maintenance", True), True)):
        demo.report_finished(done, 12.4, spec, waiting)
        lines[(done, waiting)] = capsys.readouterr().out
    assert list(lines.values()) == [
        "maintenance ready in 12 s (quick demo model; the full training goes on in the background): "
        "http://127.0.0.1:8105\n",
        "maintenance quick demo model failed after 12 s; the full training follows\n",
        "maintenance full model ready in 12 s: it replaces the quick demo model (the service swaps it in)\n",
        "maintenance full training FAILED after 12 s: the quick demo model stays in production\n",
        "maintenance ready in 12 s: http://127.0.0.1:8105\n"]


def test_quick_model_left_by_a_stopped_demo_is_named_on_its_card(lepton_home: Path) -> None:
    from lepton_shared.registry import Registry
    from services.demo_status import mark_quick
    from services.ui.home import build_card

    _register_dummy("maintenance")
    mark_quick(lepton_home, "maintenance", str(Registry().production_version("maintenance")))
    note = build_card("maintenance", check_service=False).quick
    assert note is not None and "full training has not finished" in note and "make train-maintenance" in note


def test_services_come_up_while_slow_training_goes_on(lepton_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The demo's startup order: the UI at once, fraud's service as soon as fraud is trained, then maintenance's
    as soon as its quick model is, while its full recipe trains.

    Both services serve the example app; maintenance's injected quick training holds open until it has seen
    fraud's service answer /readyz and the UI answer, so a demo that waited for every training before starting
    anything would fail here. Its full training never ends within the test: ``--check`` passes without it, as
    every page is usable once the quick model is served."""
    from lepton_shared.testing.example import register_example
    from lepton_shared.testing.server import free_port
    from services.ui.home import demo_training

    specs = [ServiceSpec(name, "example_entry:app", free_port(), app_dir=str(HERE))
             for name in ("maintenance", "fraud")]
    fraud, maintenance = specs[1], specs[0]
    ui_port = free_port()
    seen: dict[str, object] = {}
    full_may_end = threading.Event()

    def trainer(app: str, _env: dict[str, str], quick: bool = False) -> bool:
        if app == "fraud":
            register_example(epochs=1)
            return True
        if not quick:  # maintenance's full recipe, after its quick model (which here serves the example's)
            full_may_end.wait(120)
            return True
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not seen.get("fraud ready"):
            try:
                seen["fraud ready"] = httpx.get(f"{fraud.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.2)
        seen["ui"] = _answers(f"http://127.0.0.1:{ui_port}/_stcore/health")
        seen["maintenance service"] = _answers(f"{maintenance.url}/healthz")
        seen["card"] = demo_training("maintenance")
        return True

    args = demo.build_parser().parse_args(["--check", "--timeout", "120"])
    training = demo.BackgroundTraining(["maintenance", "fraud"], demo.child_env(lepton_home), trainer,
                                       demo.StatusFile(lepton_home))
    try:
        code = demo.bring_up(Supervisor(demo.child_env(lepton_home)), specs, ui_port, args, training)
    finally:
        full_may_end.set()
    out = capfd.readouterr().out
    assert seen["fraud ready"] is True and seen["ui"] is True
    assert seen["maintenance service"] is False  # not started before its model exists
    assert isinstance(seen["card"], str) and "training a quick demo model first" in seen["card"]
    assert code == 0 and "demo check passed" in out
    assert re.search(rf"^fraud ready in \d+ s: {fraud.url}$", out, re.M)
    assert re.search(rf"^maintenance ready in \d+ s \(quick demo model; .*\): {maintenance.url}$", out, re.M)
    assert out.index("fraud ready") < out.index("maintenance ready")
    assert "full model" not in out  # every page was usable before the full training ended
    assert not _answers(f"{fraud.url}/healthz") and not _answers(f"{maintenance.url}/healthz")
    assert demo_training("maintenance") is None  # the status file goes with the demo
