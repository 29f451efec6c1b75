"""``lepton models shadow <app> <version> [--since DURATION] [--limit N] [--json]``: replay logged production
inputs through a candidate version offline (``lepton_shared.monitoring.shadow``)."""

from __future__ import annotations

import argparse
from typing import Any

from lepton_shared.monitoring.report import DEFAULT_SINCE
from lepton_shared.monitoring.shadow import DEFAULT_LIMIT


def add_parser(actions: Any, app_names: list[str]) -> argparse.ArgumentParser:
    """Add ``shadow`` to the ``lepton models`` actions."""
    text = ("replay logged production inputs through a version offline: agreement with the logged answers, "
            "both answer distributions, metric deltas where labels came back")
    parser = actions.add_parser("shadow", help=text, description=text)
    parser.add_argument("app", choices=app_names)
    parser.add_argument("version", help="the version to replay through (a candidate)")
    parser.add_argument("--since", default=DEFAULT_SINCE, metavar="DURATION",
                        help=f"replay requests logged this far back: 30m, 24h, 7d… (default {DEFAULT_SINCE})")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"replay at most the newest N requests (default {DEFAULT_LIMIT})")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    from lepton_shared.monitoring.shadow import shadow_report

    return shadow_report(args.app, args.version, args.since, args.limit)
