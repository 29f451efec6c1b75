"""``make demo``: the whole suite on one machine, from a fresh clone, in one command.

It starts at once the service of every app that has a production model and the
Streamlit suite (``services/ui/suite.py``, told where each service is through
``LEPTON_<APP>_URL``). Apps without a model are trained on their built-in data
in the background, one at a time and the slow ones last (with the CLI's
progress bars); each app's service starts as soon as its model is registered,
and the home card of an app still training says so. An app whose full recipe
takes minutes first gets a quick model (its manifest's ``demo_quick_train_args``),
so its page is usable early; the full recipe then trains and replaces it (the
service follows the registry), and until then the card says "quick demo model,
full training in progress" with the step the training reports. Every child process stops
cleanly on Ctrl-C or SIGTERM. A second run finds the models in the registry
and starts in seconds.

``--check`` waits until every app is trained and served, prints how long that
took, verifies ``/readyz`` of each service and the UI's health endpoint, prints
the result and stops: CI and the tests use it.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx

from lepton_shared import progress_file
from lepton_shared.spawn import stop
from services.demo_status import StatusFile, clear_quick, mark_quick, progress_path, quick_models

ROOT = Path(__file__).resolve().parents[1]
SUITE_SCRIPT = ROOT / "services" / "ui" / "suite.py"
DEFAULT_UI_PORT = 8501


def log(message: str) -> None:
    """Progress for people goes to stderr; the summary of URLs goes to stdout."""
    print(f"[demo] {message}", file=sys.stderr, flush=True)


class Stop(Exception):
    """Raised by the signal handler so that every exit path runs the same clean-up."""


@dataclass(frozen=True)
class ServiceSpec:
    """One HTTP service to run: ``uvicorn <module> --port <port>``."""

    name: str
    module: str
    port: int
    host: str = "127.0.0.1"
    app_dir: str | None = None  # extra import root (tests serve an entry point kept under tests/)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "uvicorn", self.module, "--host", self.host, "--port", str(self.port),
               "--log-level", "warning", "--no-access-log"]
        if self.app_dir:
            cmd += ["--app-dir", self.app_dir]
        return cmd


@dataclass
class Check:
    """What ``--check`` found for one process."""

    name: str
    url: str
    live: bool
    ready: bool
    detail: str
    untrained: bool = False  # live, and not ready only because no model has been trained yet

    def passed(self, allow_untrained: bool) -> bool:
        """Ready, or (with ``--skip-train``) merely waiting for a model that was deliberately not trained."""
        return self.live and (self.ready or (allow_untrained and self.untrained))


def _die_with_parent() -> None:
    """Children get SIGTERM if the demo itself is killed (Linux), so nothing is left behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


@dataclass
class Supervisor:
    """Starts server processes in their own session and stops them all, newest first."""

    env: dict[str, str]
    stop_timeout: float = 20.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: Sequence[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(list(cmd), cwd=ROOT, env={**self.env, **(extra_env or {})},
                                stdin=subprocess.DEVNULL, stdout=sys.stderr, start_new_session=True,
                                preexec_fn=_die_with_parent)
        self.procs[name] = proc
        return proc

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs.values())):  # all at once: they stop in parallel
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + self.stop_timeout
        for name, proc in reversed(list(self.procs.items())):
            if stop(proc, timeout=max(0.1, deadline - time.monotonic())):
                log(f"{name} did not stop within {self.stop_timeout:.0f}s; killed it")
        self.procs.clear()

    @contextmanager
    def running(self) -> Iterator[Supervisor]:
        try:
            yield self
        finally:
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
                    signal.signal(sig, signal.SIG_IGN)
            if self.procs:
                log(f"stopping {len(self.procs)} processes ...")
                self.stop_all()
                log("all stopped")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def choose_port(preferred: int, host: str = "127.0.0.1", taken: set[int] | None = None) -> int:
    """The preferred port when free, else a free one (another demo or app may hold the default)."""
    taken = taken or set()
    if preferred not in taken and port_is_free(preferred, host):
        return preferred
    from lepton_shared.testing.server import free_port

    port = free_port()
    while port in taken:
        port = free_port()
    log(f"port {preferred} is busy; using {port}")
    return port


def apps_without_model(apps: Sequence[str]) -> list[str]:
    """Apps that have no usable production model in the registry (these get trained)."""
    from lepton_shared.errors import UserError
    from lepton_shared.registry import Registry

    registry = Registry()
    missing = []
    for app in apps:
        try:
            registry.get(app)
        except UserError:
            missing.append(app)
    return missing


def serving_quick_models(apps: Sequence[str], home: Path) -> list[str]:
    """Apps whose production model is a quick demo model an earlier demo left (its full training was cut short)."""
    from lepton_shared.registry import Registry

    registry, quick = Registry(), quick_models(home)
    return [app for app in apps if app in quick and registry.production_version(app) == quick[app]]


def train_command(app: str, quick: bool = False) -> list[str]:
    """``lepton <app> train`` on built-in data, with the app's lighter demo options if it declares any (its
    quick-model options with ``quick``).

    ``--promote always``: the demo shows every app, so its first model becomes production even where a
    lighter model loses to the app's baseline (the training output says so).
    """
    from lepton_shared.app import get_app

    manifest = get_app(app).manifest
    options = manifest.demo_quick_train_args if quick else manifest.demo_train_args
    return [sys.executable, "-m", "lepton_shared.cli.main", app, "train", *options, "--promote", "always"]


def train_app(app: str, env: dict[str, str], quick: bool = False) -> bool:
    """Train one app; its progress bars go straight to this terminal."""
    cmd = train_command(app, quick)
    options = " ".join(cmd[5:])
    what = "a quick demo model of " if quick else ""
    log(f"training {what}{app} on its built-in data (first run only{', ' + options if options else ''}) ...")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=sys.stderr, preexec_fn=_die_with_parent)
    try:
        code = proc.wait()
    except BaseException:  # Ctrl-C / SIGTERM while training: no half-trained child keeps running
        stop(proc, timeout=30)
        raise
    if code == 130:
        raise KeyboardInterrupt
    if code != 0:
        then = "the full recipe follows" if quick else "its service starts without a model"
        ended = f"was stopped by signal {-code}" if code < 0 else f"failed (exit {code})"
        log(f"training {what}{app} {ended}; {then}")
        return False
    log(f"{what}{app} trained in {time.monotonic() - started:.0f}s")
    return True


@dataclass(frozen=True)
class Job:
    """One training of the demo: an app's full recipe, or first its quick model."""

    app: str
    quick: bool = False


@dataclass(frozen=True)
class Finished:
    """A job that ended, as the training thread reports it to the main thread."""

    app: str
    trained: bool
    quick: bool = False


def training_jobs(apps: Sequence[str], serving: Collection[str] = ()) -> list[Job]:
    """The order of the trainings: fast apps first; then quick models of the apps that declare one (unless
    ``serving`` one already); then the full recipes of those and of the apps whose manifest says
    ``demo_train_last``; otherwise as given.

    One at a time rather than concurrently: on 2 cores parallel trainings only slow each other down, and
    the fast apps would then become usable later than when trained in turn."""
    from lepton_shared.manifest import discover

    manifests = discover()

    def has_quick(app: str) -> bool:
        return app in manifests and bool(manifests[app].demo_quick_train_args)

    def slow(app: str) -> bool:
        return has_quick(app) or (app in manifests and manifests[app].demo_train_last)

    return ([Job(app) for app in apps if not slow(app)]
            + [Job(app, quick=True) for app in apps if has_quick(app) and app not in serving]
            + [Job(app) for app in apps if slow(app)])


class Trainer(Protocol):
    def __call__(self, app: str, env: dict[str, str], quick: bool = False) -> bool: ...


class BackgroundTraining:
    """Trains apps one after another in a thread, while the main thread starts what is ready.

    Each finished job is queued as a :class:`Finished` for the main thread, which alone starts
    processes (a child gets SIGTERM when the thread that started it ends, see ``_die_with_parent``).
    The progress of each app is also written to the status file the home cards read, and each training
    process reports its own steps to a file beside it (``lepton_shared.progress_file``).

    ``serving``: apps among ``apps`` that already serve a quick demo model; only their full recipe trains."""

    def __init__(self, apps: Sequence[str], env: dict[str, str], trainer: Trainer, status: StatusFile,
                 serving: Collection[str] = ()) -> None:
        self.jobs = training_jobs(apps, serving)
        self.apps = list(dict.fromkeys(job.app for job in self.jobs))
        self.serving = set(serving) & set(self.apps)
        self.env, self.trainer, self.status = env, trainer, status
        self.results: queue.Queue[Finished] = queue.Queue()
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._work, name="demo-training", daemon=True)

    def start(self) -> None:
        if self.thread.ident is not None:  # started already
            return
        for app in self.apps:
            self.status.set(app, "queued")
        if self.apps:
            order = ", ".join(f"{job.app} (quick demo model)" if job.quick else job.app for job in self.jobs)
            log(f"training in the background, in this order: {order}")
            self.thread.start()

    def _work(self) -> None:
        for job in self.jobs:
            if self.cancelled.is_set():
                return
            app = job.app
            self.status.set(app, "training", quick=job.quick)
            env = {**self.env, progress_file.ENV: str(progress_path(self.status.home, app))}
            try:
                trained = self.trainer(app, env, quick=True) if job.quick else self.trainer(app, env)
                if trained:
                    self._remember(job)
            except BaseException as exc:  # a failed or interrupted training must not kill the demo
                log(f"training {app} stopped: {type(exc).__name__} {exc}")
                trained = False
            self.status.set(app, "queued" if job.quick else "ready" if trained else "failed")
            self.results.put(Finished(app, trained, job.quick))

    def _remember(self, job: Job) -> None:
        """Which production version is a quick model, so the card says so and a later demo trains the full one."""
        if not job.quick:
            clear_quick(self.status.home, job.app)
            return
        from lepton_shared.registry import Registry

        version = Registry().production_version(job.app)
        if version is not None:
            mark_quick(self.status.home, job.app, version)

    def finished(self, wait: float) -> list[Finished]:
        """Jobs that ended since the last call, waiting up to ``wait`` seconds for the first."""
        try:
            done = [self.results.get(timeout=wait)]
        except queue.Empty:
            return []
        while not self.results.empty():
            done.append(self.results.get_nowait())
        return done

    @contextmanager
    def running(self, start: bool = True) -> Iterator[BackgroundTraining]:
        """Trains in the background until the block ends; ``start=False``: only once :meth:`start` is called."""
        try:
            if start:
                self.start()
            yield self
        finally:
            self.cancelled.set()  # the training under way is ended with the demo's process (PDEATHSIG)
            self.status.remove()


def wait_live(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``url`` answers at all (uvicorn answers only after the model has loaded)."""
    from lepton_shared.testing.server import wait_http

    wait_http(url, timeout=timeout, proc=proc)


def check_service(spec: ServiceSpec) -> Check:
    """``/healthz`` says the process lives; ``/readyz`` says a model is loaded and the database answers."""
    try:
        live = httpx.get(f"{spec.url}/healthz", timeout=10).status_code == 200
        resp = httpx.get(f"{spec.url}/readyz", timeout=30)
    except httpx.HTTPError as exc:
        return Check(spec.name, spec.url, False, False, f"no answer: {exc}")
    body: dict[str, Any] = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    if resp.status_code == 200:
        return Check(spec.name, spec.url, live, True, f"ready, model {body.get('model_version')}")
    reason = str(body.get("reason", resp.text))[:200]
    return Check(spec.name, spec.url, live, False, reason, untrained="has been trained yet" in reason)


def check_ui(url: str) -> Check:
    try:
        ok = httpx.get(f"{url}/_stcore/health", timeout=10).status_code == 200
    except httpx.HTTPError as exc:
        return Check("ui", url, False, False, f"no answer: {exc}")
    return Check("ui", url, ok, ok, "ok" if ok else "unhealthy")


def child_env(home: Path) -> dict[str, str]:
    """The environment every child shares: one absolute LEPTON_HOME, the repo importable, quiet libraries."""
    env = dict(os.environ)
    env["LEPTON_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def has_entry_point(app: str) -> bool:
    """Whether the app has a service (``services.asgi`` serves any app whose ``create_service`` exists)."""
    from lepton_shared.app import get_app

    try:
        return callable(getattr(get_app(app), "create_service", None))
    except Exception:  # an app being built may not import yet
        return False


def service_specs(apps: Sequence[str], host: str) -> list[ServiceSpec]:
    from lepton_shared.manifest import get_manifest

    taken: set[int] = set()
    specs = []
    for app in apps:
        port = choose_port(get_manifest(app).port, host, taken)
        taken.add(port)
        specs.append(ServiceSpec(app, "services.asgi:app", port, host))
    return specs


def start_services(supervisor: Supervisor, specs: Sequence[ServiceSpec], timeout: float) -> None:
    """Start the services together, then wait until each answers (they load their models meanwhile)."""
    for spec in specs:
        log(f"starting {spec.name} service on {spec.url}")
        supervisor.start(spec.name, spec.command(), extra_env={"LEPTON_APP": spec.name})
    for spec in specs:
        try:
            wait_live(f"{spec.url}/healthz", supervisor.procs[spec.name], timeout)
        except (RuntimeError, TimeoutError) as exc:
            log(f"{spec.name} service did not come up: {exc}")


def start_ui(supervisor: Supervisor, specs: Sequence[ServiceSpec], ui_port: int, host: str, timeout: float) -> str:
    """The Streamlit suite, told every service's URL, including those whose service starts later."""
    urls = {f"LEPTON_{spec.name.upper()}_URL": spec.url for spec in specs}
    ui_url = f"http://{host}:{ui_port}"
    log(f"starting the Streamlit suite on {ui_url}")
    proc = supervisor.start("ui", [sys.executable, "-m", "streamlit", "run", str(SUITE_SCRIPT),
                                   "--server.headless", "true", "--server.port", str(ui_port),
                                   "--server.address", host, "--browser.gatherUsageStats", "false",
                                   "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"],
                            extra_env=urls)
    try:
        wait_live(f"{ui_url}/_stcore/health", proc, timeout)
    except (RuntimeError, TimeoutError) as exc:
        log(f"the Streamlit suite did not come up: {exc}")
    return ui_url


def start_all(supervisor: Supervisor, specs: Sequence[ServiceSpec], ui_port: int | None, host: str,
              timeout: float) -> str | None:
    """Start the services, wait until each answers, then the UI pointed at them; returns the UI URL."""
    start_services(supervisor, specs, timeout)
    return None if ui_port is None else start_ui(supervisor, specs, ui_port, host, timeout)


def summary(specs: Sequence[ServiceSpec], ui_url: str | None, training: set[str] | None = None) -> str:
    training = training or set()
    lines = ["", "Lepton Suite is running:"]
    if ui_url:
        lines.append(f"  Streamlit suite   {ui_url}")
    for spec in specs:
        note = "   (training in the background; starts when ready)" if spec.name in training \
            else f"   (ready: {spec.url}/readyz)"
        lines.append(f"  {spec.name:<17} {spec.url}/docs{note}")
    if not specs:
        lines.append("  (no apps are part of this build yet)")
    lines.append("Press Ctrl-C to stop everything.")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.demo",
        description="Train every app on its built-in data (only when it has no production model yet), start each "
                    "app's HTTP service and the Streamlit suite, print where to open them, and stop them all on "
                    "Ctrl-C. A second run reuses the trained models and starts in seconds.",
    )
    parser.add_argument("--apps", default=None,
                        help="comma-separated subset of apps (default: every app in this build)")
    parser.add_argument("--skip-train", action="store_true",
                        help="never train; apps without a model start anyway and report 'not ready'")
    parser.add_argument("--no-ui", action="store_true", help="start only the HTTP services")
    parser.add_argument("--check", action="store_true",
                        help="start everything, verify /readyz of each service and the UI health, then stop "
                             "(exit 0 only when all passed)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--ui-port", type=int, default=DEFAULT_UI_PORT, help="Streamlit port (default 8501)")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds to wait for each process to answer (default 240; models load at start)")
    return parser


def resolve_apps(requested: str | None) -> list[str]:
    from lepton_shared.app import available_apps
    from lepton_shared.errors import UserError
    from lepton_shared.manifest import app_names

    present = available_apps()
    if requested is None:
        return present
    names = [n.strip() for n in requested.split(",") if n.strip()]
    for name in names:
        if name not in app_names():
            raise UserError(f"unknown app {name!r} in --apps; choose from: {', '.join(app_names())}")
        if name not in present:
            raise UserError(f"the {name} app is not part of this build (present: {', '.join(present) or 'none'})")
    return names


def run(argv: Sequence[str] | None = None, trainer: Trainer = train_app) -> int:
    args = build_parser().parse_args(argv)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args, trainer)
    except (Stop, KeyboardInterrupt) as why:
        log(f"received {why or 'SIGINT'}: stopped")
        return 0 if isinstance(why, Stop) else 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(args: argparse.Namespace, trainer: Trainer) -> int:
    from lepton_shared.serving.security import check_bind
    from lepton_shared.settings import get_settings

    settings = get_settings()
    warning = check_bind(args.host)  # the services' binding rules hold for the demo too
    if warning:
        log(warning)
    home = settings.home_dir
    env = child_env(home)
    apps = resolve_apps(args.apps)
    log(f"apps in this build: {', '.join(apps) or 'none yet'}; state in {home}")
    from lepton_shared.storage import init_db

    init_db()  # migrate once here, so the services starting together never race on the schema
    missing = apps_without_model(apps)
    quick = [] if args.skip_train else serving_quick_models(apps, home)
    if args.skip_train and missing:
        log(f"--skip-train: {', '.join(missing)} start without a model")
    elif apps and not missing:
        log("every app already has a production model: reusing them")
    if quick:
        log(f"serving the quick demo model an earlier run left for {', '.join(quick)}; its full training resumes")
    to_train = [] if args.skip_train else [app for app in apps if app in missing or app in quick]

    served = [app for app in apps if has_entry_point(app)]
    for app in sorted(set(apps) - set(served)):
        log(f"{app} has no services/{app}.py yet: its page runs in-process, without a service")
    specs = service_specs(served, args.host)
    ui_port = None if args.no_ui else choose_port(args.ui_port, args.host, {s.port for s in specs})
    training = BackgroundTraining(to_train, env, trainer, StatusFile(home), serving=quick)
    return bring_up(Supervisor(env), specs, ui_port, args, training)


def bring_up(supervisor: Supervisor, specs: Sequence[ServiceSpec], ui_port: int | None, args: argparse.Namespace,
             training: BackgroundTraining) -> int:
    """Start what has a model and the UI at once, then each service as its background training ends.

    With ``--check`` it returns once every app is served (every page usable, quick demo models included), with
    the checks' exit status; a full training still under way then ends with the demo, and the next demo resumes
    it. Otherwise it keeps watching the processes until Ctrl-C."""
    started = time.monotonic()
    pending = set(training.apps) - training.serving  # apps without any model yet: their service waits
    jobs_left = len(training.jobs)
    usable_said = False
    by_name = {spec.name: spec for spec in specs}
    serving_now = [spec for spec in specs if spec.name not in pending]
    # a first run trains at once; a later one (resuming a full training) first brings up what it can serve, so
    # the training does not slow the start of every service and page
    with supervisor.running(), training.running(start=not serving_now):
        start_services(supervisor, serving_now, args.timeout)
        ui_url = None if ui_port is None else start_ui(supervisor, specs, ui_port, args.host, args.timeout)
        training.start()
        log(f"started in {time.monotonic() - started:.1f}s"
            + (f"; still training: {', '.join(training.apps)}" if training.apps else ""))
        if not args.check:
            print(summary(specs, ui_url, pending), flush=True)
        while True:
            if not pending and not usable_said:
                usable_said = True
                log(f"every page usable {time.monotonic() - started:.0f} s after start"
                    + (f"; training goes on in the background ({jobs_left} left)" if jobs_left else ""))
            if args.check and not pending:
                return report_checks(specs, ui_url, allow_untrained=args.skip_train)
            for done in training.finished(wait=1.0):
                jobs_left -= 1
                report_finished(done, time.monotonic() - started, by_name.get(done.app), done.app in pending)
                if done.app in pending and (done.trained or not done.quick):  # a failed quick model: the full follows
                    pending.discard(done.app)
                    spec = by_name.get(done.app)
                    if spec is not None:
                        start_services(supervisor, [spec], args.timeout)
            for name in supervisor.dead():
                code = supervisor.procs.pop(name).returncode
                log(f"{name} exited with code {code}; the others keep running")
            if not supervisor.procs and not pending:
                log("every process has exited")
                return 1


def report_finished(done: Finished, elapsed: float, spec: ServiceSpec | None, waiting: bool) -> None:
    """One line on stdout per ended training: what is usable now, and where (``waiting``: the app had no model
    yet, so its service starts now)."""
    where = spec.url if spec else "its page runs in-process"
    took = f"{elapsed:.0f} s"
    if done.quick and not done.trained:
        line = f"{done.app} quick demo model failed after {took}; the full training follows"
    elif done.quick:
        line = f"{done.app} ready in {took} (quick demo model; the full training goes on in the background): {where}"
    elif not waiting and done.trained:
        line = f"{done.app} full model ready in {took}: it replaces the quick demo model (the service swaps it in)"
    elif not waiting:
        line = f"{done.app} full training FAILED after {took}: the quick demo model stays in production"
    elif done.trained:
        line = f"{done.app} ready in {took}: {where}"
    else:
        line = f"{done.app} NOT trained in {took} (its service runs without a model): {where}"
    print(line, flush=True)


def report_checks(specs: Sequence[ServiceSpec], ui_url: str | None, allow_untrained: bool) -> int:
    checks = [check_service(spec) for spec in specs]
    if ui_url:
        checks.append(check_ui(ui_url))
    ok = True
    for check in checks:
        passed = check.passed(allow_untrained)
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'} {check.name:<12} {check.url:<28} {check.detail}", flush=True)
    print("demo check passed" if ok else "demo check FAILED", flush=True)
    return 0 if ok else 1


def main() -> None:
    from lepton_shared.errors import UserError

    try:
        code = run()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    raise SystemExit(code)


if __name__ == "__main__":
    main()
