"""``lepton <app> train|evaluate|optimize|tune|serve|ui``, ``lepton models …``, ``lepton monitor <app>``,
``lepton apps``, ``lepton perf …``, ``lepton db upgrade``.

The apps and their help texts come from the app manifests (``lepton_shared.manifest``).

User mistakes become one line on stderr and exit code 2; ``evaluate --json``
prints exactly one JSON object on stdout and nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lepton_shared.app import LeptonApp, app_installed, get_app
from lepton_shared.config import EvaluateConfig, TrainConfig, from_args
from lepton_shared.errors import UserError
from lepton_shared.manifest import discover

EXIT_USER_ERROR = 2
#: how long a ``serve --workers N`` worker may take to start (imports and model load) before uvicorn restarts it
WORKER_START_S = 120


def _add_common(command: str, parser: argparse.ArgumentParser) -> None:
    if command in ("train", "evaluate", "tune"):
        parser.add_argument("--data", type=Path, default=None,
                            help="data file or folder (default: the app's built-in data)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        from lepton_shared.settings import get_settings

        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=get_settings().device,
                            help="where to run torch code (default: the LEPTON_DEVICE setting, else auto: CUDA "
                                 "when present)")
    if command in ("train", "tune"):
        parser.add_argument("--epochs", type=int, default=None, help="training epochs (app default if omitted)")
    if command == "train":
        parser.add_argument("--promote", choices=["gate", "always", "never"], default="gate",
                            help="gate (default): the new version becomes production only if its key metric beats "
                                 "the app's baseline and is no worse than production's (same data) by more than "
                                 "the tolerance; always / never: override the gate")
        parser.add_argument("--tolerance", type=float, default=None, metavar="T",
                            help="largest acceptable loss of the key metric against production (default: the app's; "
                                 "0.01, one point of accuracy or AUC; 0.25 cycles of maintenance's RUL RMSE)")
        parser.add_argument("--resume", action="store_true",
                            help="continue the interrupted training of the same options from its last epoch "
                                 "(torch models)")
        from lepton_shared.cli import tune

        tune.add_train_arguments(parser)
    if command == "evaluate":
        parser.add_argument("--model", default=None, help="model version to score (default: production)")
        parser.add_argument("--json", action="store_true", help="print one JSON object of metrics on stdout")
    if command == "serve":
        parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None,
                            help="port (default: the app's port from its manifest)")
        parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument("--allow-public", action="store_true",
                            help="listen on a non-loopback --host even with authentication off (no "
                                 "LEPTON_API_TOKEN); same as LEPTON_ALLOW_PUBLIC=1")
    if command == "ui":
        parser.add_argument("--port", type=int, default=8501, help="Streamlit port (default 8501)")
        parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")


def build_parser(app_name: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lepton",
        description="Lepton Suite: AI apps on one shared library. "
                    "Every app: train, evaluate --json, optimize, tune, serve, ui.",
    )
    parser.add_argument("--version", action="version", version=f"lepton {_version()}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    manifests = discover()
    app_names = list(manifests)
    for name, manifest in manifests.items():
        app_parser = sub.add_parser(name, help=manifest.summary,
                                    description=f"{manifest.title}: {manifest.summary}")
        commands = app_parser.add_subparsers(dest="command", metavar="ACTION")
        helps = {
            "train": "train on --data (or built-in data), evaluate on the held-out part, register a version",
            "evaluate": "score a model version on --data and print metrics (--json for one JSON object)",
            "optimize": "quantise, prune or export the served network into a new, measured model version",
            "tune": "search hyperparameters with Optuna on the validation split (a study shared through the "
                    "suite database); then `train --params best`",
            "serve": "start the app's HTTP service",
            "ui": "start the app's Streamlit page",
        }
        for command, text in helps.items():
            cmd_parser = commands.add_parser(command, help=text, description=text)
            _add_common(command, cmd_parser)
            if command == "optimize":
                from lepton_shared.cli import optimize

                optimize.add_arguments(cmd_parser)
            if command == "tune":
                from lepton_shared.cli import tune

                tune.add_arguments(cmd_parser)
            if name == app_name and command in ("train", "evaluate", "tune"):
                # tune takes the train options: every trial is a training run of that configuration
                get_app(name).add_arguments("train" if command == "tune" else command, cmd_parser)
    apps = sub.add_parser("apps", help="the installed apps, from their manifests")
    apps.add_argument("--names", action="store_true", help="names only, space-separated (for the Makefile)")
    apps.add_argument("--json", action="store_true", help="every manifest as JSON")
    from lepton_shared.cli import perf

    perf.add_parser(sub)
    from lepton_shared.cli import monitor

    monitor.add_parser(sub, app_names)
    models = sub.add_parser("models", help="list, show, promote or roll back model versions; their history; shadow "
                                           "replay")
    mcmd = models.add_subparsers(dest="command", metavar="ACTION")
    p = mcmd.add_parser("list", help="all versions (optionally of one app)")
    p.add_argument("app", nargs="?", choices=app_names)
    p.add_argument("--json", action="store_true")
    p = mcmd.add_parser("show", help="one version's metadata")
    p.add_argument("app", choices=app_names)
    p.add_argument("version", nargs="?", default=None, help="default: production")
    p = mcmd.add_parser("promote", help="make a version the production model if it passes the promotion gate")
    p.add_argument("app", choices=app_names)
    p.add_argument("version")
    p.add_argument("--force", action="store_true", help="promote a version that fails the gate (needs --reason)")
    p.add_argument("--reason", default="", metavar="TEXT", help="why, for the promotion history")
    p = mcmd.add_parser("rollback", help="return to the previous production model")
    p.add_argument("app", choices=app_names)
    p.add_argument("--reason", default="", metavar="TEXT", help="why, for the promotion history")
    p = mcmd.add_parser("history", help="every promotion and rollback: who, when, why, both versions' key metric")
    p.add_argument("app", choices=app_names)
    p.add_argument("--json", action="store_true")
    from lepton_shared.cli import shadow

    shadow.add_parser(mcmd, app_names)
    db = sub.add_parser("db", help="database schema")
    dcmd = db.add_subparsers(dest="command", metavar="ACTION")
    dcmd.add_parser("upgrade", help="apply all migrations (SQLite or PostgreSQL per LEPTON_DATABASE_URL)")
    from lepton_shared.data import load_manifest

    known = ", ".join(sorted(load_manifest())) or "none"
    data = sub.add_parser("data", help="download a public data set from data/manifest.json and check its checksum",
                          description=f"Download NAME once into LEPTON_HOME/cache/datasets and print its path. "
                                      f"Known: {known}.")
    data.add_argument("name", help=f"one of: {known}")
    return parser


def _config(app: LeptonApp, args: argparse.Namespace) -> TrainConfig | EvaluateConfig:
    """The typed configuration of ``train`` or ``evaluate`` from its parsed options (the one Namespace crossing)."""
    if args.data is not None and not args.data.exists():
        raise UserError(f"data not found: {args.data}")
    if args.command in ("train", "tune"):
        if args.epochs is not None and args.epochs < 1:
            raise UserError("--epochs must be at least 1")
        if args.command == "train":
            from lepton_shared.promotion import check_tolerance

            check_tolerance(args.tolerance)
        return from_args(app.train_config, args)
    return from_args(app.evaluate_config, args)


def parse_config(app_name: str, command: str, argv: Sequence[str] = ()) -> TrainConfig | EvaluateConfig:
    """The configuration ``lepton APP_NAME COMMAND ARGV`` gives the app (``train`` or ``evaluate``).

    For code that holds options as command-line words, such as a manifest's tiny options in the
    contract tests and the demo; everything else builds the app's config class directly.
    """
    args = build_parser(app_name).parse_args([app_name, command, *argv])
    return _config(get_app(app_name), args)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lepton-suite")
    except PackageNotFoundError:
        return "unknown"


def _apps(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    manifests = discover()
    if args.names:
        print(" ".join(manifests))
    elif args.json:
        _print_json({name: asdict(m) for name, m in manifests.items()})
    else:
        for name, m in manifests.items():
            better = "higher" if m.higher_is_better else "lower"
            print(f"{name:12} :{m.port}  {m.title} — key metric {m.key_metric} ({better} is better)")


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _models(args: argparse.Namespace) -> None:
    from lepton_shared.registry import Registry, key_metric_of, metric_value

    reg = Registry()
    if args.command == "list":
        infos = reg.list(args.app)
        if getattr(args, "json", False):
            _print_json([i.as_dict() for i in infos])
            return
        if not infos:
            print("no model versions yet: train one with `lepton <app> train`")
        for i in infos:
            key = key_metric_of(i.app)
            print(f"{i.app:12} {i.version:6} {i.stage:10} {i.created_at:%Y-%m-%d %H:%M}  "
                  f"{key}={_number(metric_value(i.metrics, key))}")
    elif args.command == "show":
        _print_json(reg.get(args.app, args.version).as_dict())
    elif args.command == "promote":
        from lepton_shared.promotion import promote_version

        print(promote_version(args.app, args.version, force=args.force, reason=args.reason)[1])
    elif args.command == "rollback":
        info = reg.rollback(args.app, reason=args.reason)
        print(f"{info.app} rolled back to {info.version}")
    elif args.command == "history":
        records = reg.history(args.app)
        if args.json:
            _print_json([r.as_dict() for r in records])
            return
        if not records:
            print(f"{args.app} has no promotions yet")
        for r in records:
            replaced = f" replacing {r.previous_version} ({_number(r.previous_value)})" if r.previous_version else ""
            print(f"{r.created_at:%Y-%m-%d %H:%M}  {r.action:8} {r.version} ({r.metric}={_number(r.value)}){replaced}"
                  f"  by {r.actor or 'unknown'}: {r.reason or '-'}")
    elif args.command == "shadow":
        from lepton_shared.cli import shadow
        from lepton_shared.monitoring.shadow import summary

        report = shadow.run(args)
        _print_json(report) if args.json else print(summary(report))
    else:
        raise UserError("choose one of: list, show, promote, rollback, history, shadow")


def _serve(name: str, args: argparse.Namespace) -> None:
    import uvicorn

    app = get_app(name)
    port = args.port or app.manifest.port
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    from lepton_shared.serving.logs import json_logger, uvicorn_log_config
    from lepton_shared.serving.security import check_bind

    logger = json_logger("lepton.serve")  # every line a service writes is JSON, these too
    warning = check_bind(args.host, args.allow_public)
    if warning:
        logger.warning(warning)
    logger.info(f"{name} service on http://{args.host}:{port}  (docs: /docs)")
    os.environ["LEPTON_APP"] = name  # read by services.asgi in every worker
    if args.workers > 1:
        from lepton_shared.storage import init_db

        init_db()  # once here: workers starting together would race on the schema's migrations
        _prometheus_multiprocess()
    # No uvicorn access log: the service logs every request itself, with the route template and pseudonymised
    # ids instead of the raw path. A worker importing torch and loading a model on a busy machine can take
    # longer than uvicorn's 5 s health ping, and was killed and restarted mid-request.
    uvicorn.run(app.service_module, host=args.host, port=port, workers=args.workers, log_level="info",
                log_config=uvicorn_log_config(), access_log=False, timeout_worker_healthcheck=WORKER_START_S)


def _prometheus_multiprocess() -> None:
    """Point every worker at one empty PROMETHEUS_MULTIPROC_DIR (the operator's, or a new temporary one)."""
    import tempfile

    from lepton_shared.serving.metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="lepton-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # counts of an earlier run would be summed into this one's
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)


def _ui(name: str, args: argparse.Namespace) -> None:
    script = get_app(name).ui_script
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.host, "--browser.gatherUsageStats", "false"]
    raise SystemExit(subprocess.call(cmd, env=os.environ.copy()))


def run(argv: Sequence[str]) -> int:
    from lepton_shared.settings import get_settings

    get_settings()  # a bad LEPTON_* value stops every command at once, in one line
    argv = list(argv)
    app_name = argv[0] if argv and argv[0] in discover() else None
    if app_name and not app_installed(app_name):
        raise UserError(f"the {app_name} app is not installed in this build")
    parser = build_parser(app_name)
    args = parser.parse_args(argv)
    if args.group is None or (args.group not in ("apps", "data") and getattr(args, "command", None) is None):
        if args.group is not None:
            parser.parse_args([args.group, "--help"])  # prints the group's help and exits 0
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    if args.group == "models":
        _models(args)
    elif args.group == "apps":
        _apps(args)
    elif args.group == "perf":
        from lepton_shared.cli import perf

        result = perf.run(args)
        if getattr(args, "json", False):
            _print_json(result)
    elif args.group == "monitor":
        from lepton_shared.cli import monitor

        report = monitor.run(args)
        if args.json:
            _print_json(report)
        else:
            print(monitor.summary(report))
    elif args.group == "db":
        from lepton_shared.settings import get_settings
        from lepton_shared.storage import init_db

        init_db()
        print(f"database is up to date: {get_settings().resolved_database_url.split('@')[-1]}")
    elif args.group == "data":
        from lepton_shared.data import download

        print(download(args.name, progress=True))
    else:
        app = get_app(args.group)
        if args.command in ("train", "tune") and int(os.environ.get("RANK", "0")) == 0:
            from lepton_shared.storage import init_db

            init_db()  # an unreachable database is said before the training (by torchrun's rank 0 only: one migrator)
        if args.command == "train":
            from lepton_shared.cli import tune
            from lepton_shared.training.checkpoints import resumable

            config = _config(app, args)
            assert isinstance(config, TrainConfig)
            with resumable(app.name, config):
                info = tune.train_with_best(app, config, args)
            print(f"{app.name} {info.version} registered ({info.stage}); metrics: "
                  + ", ".join(f"{k}={v:.4g}" for k, v in info.metrics.items() if isinstance(v, (int, float))),
                  file=sys.stderr)
            if (info.path / "report.html").is_file():
                print(f"evaluation report (metrics against baselines, plots): {info.path / 'report.html'}",
                      file=sys.stderr)
        elif args.command == "evaluate":
            metrics = app.evaluate(_config(app, args))
            if args.json:
                _print_json(metrics)
            else:
                for key, value in metrics.items():
                    print(f"{key:28} {value}")
        elif args.command == "optimize":
            from lepton_shared.cli import optimize

            if args.data is not None and not args.data.exists():
                raise UserError(f"data not found: {args.data}")
            report = optimize.run(app.name, args)
            if args.json:
                _print_json(report)
        elif args.command == "tune":
            from lepton_shared.cli import tune

            result = tune.run(app.name, _config(app, args), args)
            if args.json:
                _print_json(result)
            else:
                print(tune.summary_line(result))
        elif args.command == "serve":
            _serve(app.name, args)
        elif args.command == "ui":
            _ui(app.name, args)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    raise SystemExit(code)


if __name__ == "__main__":
    main()
