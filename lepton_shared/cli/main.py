"""``lepton <app> train|evaluate|serve|ui``, ``lepton models …``, ``lepton db upgrade``.

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

from lepton_shared.app import APP_NAMES, app_installed, get_app
from lepton_shared.errors import UserError

EXIT_USER_ERROR = 2

APP_SUMMARIES = {
    "chatbot": "customer-service assistant: intents, FAQ answers, out-of-scope fallback, handoff",
    "imaging": "medical image diagnosis with calibrated probabilities, heat maps and an audit trail",
    "recommender": "product recommendations from implicit feedback, similar items, cold start",
    "fraud": "real-time payment fraud scoring with reason codes and a review queue",
    "maintenance": "remaining-useful-life estimates and an RL maintenance policy",
}


def _add_common(command: str, parser: argparse.ArgumentParser) -> None:
    if command in ("train", "evaluate"):
        parser.add_argument("--data", type=Path, default=None,
                            help="data file or folder (default: the app's built-in data)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                            help="where to run torch code (default auto: CUDA when present)")
    if command == "train":
        parser.add_argument("--epochs", type=int, default=None, help="training epochs (app default if omitted)")
        parser.add_argument("--no-promote", action="store_true",
                            help="register the new version without making it the production model")
    if command == "evaluate":
        parser.add_argument("--model", default=None, help="model version to score (default: production)")
        parser.add_argument("--json", action="store_true", help="print one JSON object of metrics on stdout")
    if command == "serve":
        parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="port (default: the app's port)")
        parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    if command == "ui":
        parser.add_argument("--port", type=int, default=8501, help="Streamlit port (default 8501)")
        parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")


DEFAULT_PORTS = {"chatbot": 8101, "imaging": 8102, "recommender": 8103, "fraud": 8104, "maintenance": 8105}


def build_parser(app_name: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lepton",
        description="Lepton Suite: five AI apps on one shared library. "
                    "Every app: train, evaluate --json, serve, ui.",
    )
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    for name in APP_NAMES:
        app_parser = sub.add_parser(name, help=APP_SUMMARIES[name], description=APP_SUMMARIES[name])
        commands = app_parser.add_subparsers(dest="command", metavar="ACTION")
        helps = {
            "train": "train on --data (or built-in data), evaluate on the held-out part, register a version",
            "evaluate": "score a model version on --data and print metrics (--json for one JSON object)",
            "serve": "start the app's HTTP service",
            "ui": "start the app's Streamlit page",
        }
        for command, text in helps.items():
            cmd_parser = commands.add_parser(command, help=text, description=text)
            _add_common(command, cmd_parser)
            if name == app_name and command in ("train", "evaluate"):
                get_app(name).add_arguments(command, cmd_parser)
    models = sub.add_parser("models", help="list, show, promote or roll back model versions")
    mcmd = models.add_subparsers(dest="command", metavar="ACTION")
    p = mcmd.add_parser("list", help="all versions (optionally of one app)")
    p.add_argument("app", nargs="?", choices=APP_NAMES)
    p.add_argument("--json", action="store_true")
    p = mcmd.add_parser("show", help="one version's metadata")
    p.add_argument("app", choices=APP_NAMES)
    p.add_argument("version", nargs="?", default=None, help="default: production")
    p = mcmd.add_parser("promote", help="make a version the production model")
    p.add_argument("app", choices=APP_NAMES)
    p.add_argument("version")
    p = mcmd.add_parser("rollback", help="return to the previous production model")
    p.add_argument("app", choices=APP_NAMES)
    db = sub.add_parser("db", help="database schema")
    dcmd = db.add_subparsers(dest="command", metavar="ACTION")
    dcmd.add_parser("upgrade", help="apply all migrations (SQLite or PostgreSQL per LEPTON_DATABASE_URL)")
    sub.add_parser("data", help="download a public data set from data/manifest.json").add_argument("name")
    return parser


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def _models(args: argparse.Namespace) -> None:
    from lepton_shared.registry import Registry

    reg = Registry()
    if args.command == "list":
        infos = reg.list(args.app)
        if getattr(args, "json", False):
            _print_json([i.as_dict() for i in infos])
            return
        if not infos:
            print("no model versions yet: train one with `lepton <app> train`")
        for i in infos:
            key = next(iter(i.metrics.items()), ("", ""))
            print(f"{i.app:12} {i.version:6} {i.stage:10} {i.created_at:%Y-%m-%d %H:%M}  {key[0]}={key[1]}")
    elif args.command == "show":
        _print_json(reg.get(args.app, args.version).as_dict())
    elif args.command == "promote":
        info = reg.promote(args.app, args.version)
        print(f"{info.app} {info.version} is now production")
    elif args.command == "rollback":
        info = reg.rollback(args.app)
        print(f"{info.app} rolled back to {info.version}")
    else:
        raise UserError("choose one of: list, show, promote, rollback")


def _serve(name: str, args: argparse.Namespace) -> None:
    import uvicorn

    app = get_app(name)
    port = args.port or DEFAULT_PORTS[name]
    if args.workers < 1:
        raise UserError("--workers must be at least 1")
    print(f"{name} service on http://{args.host}:{port}  (docs: /docs)", file=sys.stderr)
    uvicorn.run(app.service_module, host=args.host, port=port, workers=args.workers, log_level="warning")


def _ui(name: str, args: argparse.Namespace) -> None:
    script = get_app(name).ui_script
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", args.host, "--browser.gatherUsageStats", "false"]
    raise SystemExit(subprocess.call(cmd, env=os.environ.copy()))


def run(argv: Sequence[str]) -> int:
    argv = list(argv)
    app_name = argv[0] if argv and argv[0] in APP_NAMES else None
    if app_name and not app_installed(app_name):
        raise UserError(f"the {app_name} app is not installed in this build")
    parser = build_parser(app_name)
    args = parser.parse_args(argv)
    if args.group is None or getattr(args, "command", None) is None:
        if args.group is not None:
            parser.parse_args([args.group, "--help"])  # prints the group's help and exits 0
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    if args.group == "models":
        _models(args)
    elif args.group == "db":
        from lepton_shared.settings import get_settings
        from lepton_shared.storage import init_db

        init_db()
        print(f"database is up to date: {get_settings().resolved_database_url.split('@')[-1]}")
    elif args.group == "data":
        from lepton_shared.data import download

        print(download(args.name))
    else:
        app = get_app(args.group)
        if args.command == "train":
            if args.epochs is not None and args.epochs < 1:
                raise UserError("--epochs must be at least 1")
            if args.data is not None and not args.data.exists():
                raise UserError(f"data not found: {args.data}")
            info = app.train(args)
            print(f"{app.name} {info.version} registered ({info.stage}); metrics: "
                  + ", ".join(f"{k}={v:.4g}" for k, v in info.metrics.items() if isinstance(v, (int, float))),
                  file=sys.stderr)
        elif args.command == "evaluate":
            if args.data is not None and not args.data.exists():
                raise UserError(f"data not found: {args.data}")
            metrics = app.evaluate(args)
            if args.json:
                _print_json(metrics)
            else:
                for key, value in metrics.items():
                    print(f"{key:28} {value}")
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
