"""``lepton monitor <app> [--since DURATION] [--json]``: traffic, errors, latency, drift, live quality and
alerts of an app's service (``lepton_shared.monitoring.report``)."""

from __future__ import annotations

import argparse
from typing import Any

from lepton_shared.monitoring.report import DEFAULT_SINCE, ERROR_RATE_ALERT


def add_parser(subparsers: Any, app_names: list[str]) -> argparse.ArgumentParser:
    """Add the ``monitor`` command to the CLI's sub-commands."""
    text = ("requests, error rate, latency, drift of inputs and predictions against the production version's "
            "reference, live quality from returned labels, and alerts")
    parser = subparsers.add_parser("monitor", help=text, description=text)
    parser.add_argument("app", choices=app_names)
    parser.add_argument("--since", default=DEFAULT_SINCE, metavar="DURATION",
                        help=f"look back this far: 30m, 24h, 7d… (default {DEFAULT_SINCE})")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(command="report")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    from lepton_shared.monitoring.report import monitor_report

    return monitor_report(args.app, args.since)


def summary(report: dict[str, Any]) -> str:
    """The report as a few readable lines."""
    def show(value: Any) -> str:
        return "-" if value is None else str(value)

    lines = [f"{report['app']} since {report['since']}: {report['requests']} requests, error rate "
             f"{show(report['error_rate'])} (alert above {ERROR_RATE_ALERT}), latency p50 "
             f"{show(report['latency_ms']['p50'])} ms, p99 {show(report['latency_ms']['p99'])} ms"]
    drift = report["drift"]
    for name, d in [*drift["features"].items(), ("prediction", drift["prediction"])]:
        if d is not None:
            lines.append(f"  drift {name:20} {d['test']:4} score {show(d['score']):8} n={d['n']}"
                         + ("  ALERT" if d["alert"] else ""))
    lines.append(f"  live quality: {show(report['live_quality'])}")
    lines += [f"  note: {n}" for n in report["notes"]]
    lines += [f"ALERT: {a}" for a in report["alerts"]] or ["no alerts"]
    return "\n".join(lines)
