"""``lepton perf trainer`` and ``lepton perf serve APP``: the performance harness (``lepton_shared.perf``).

Progress goes to stderr; with ``--json`` the one result object is printed on stdout by the CLI
(``lepton_shared.cli.main``), and by ``python -m lepton_shared.cli.perf`` when run on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from lepton_shared.errors import UserError


def _client_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated client counts like 1,4,16,64, got {text!r}") from None
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError("client counts must be positive, e.g. 1,4,16,64")
    return counts


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``perf`` group to the CLI's sub-commands."""
    perf = subparsers.add_parser("perf", help="measure the Trainer's overhead and a service under load",
                                 description="Performance harness: the shared Trainer against a plain torch loop, "
                                             "and an app's HTTP service under concurrent clients.")
    commands = perf.add_subparsers(dest="command", metavar="ACTION")
    p = commands.add_parser("trainer", help="the shared Trainer against a plain torch loop (same model and data)",
                            description="Train one MLP on synthetic data with the shared Trainer and with a plain "
                                        "torch loop, alternately, and compare the median times.")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    p.add_argument("--samples", type=int, default=40_000, help="synthetic rows (default 40000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each, in alternating order (default 3)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="default: the LEPTON_DEVICE setting")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's, one per core; use 1 on a machine busy with other work)")
    p.add_argument("--tiny", action="store_true", help="a seconds-long workload (tests, smoke runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p = commands.add_parser("serve", help="an app's service under 1..N concurrent clients, batching off and on",
                            description="Start `lepton APP serve` on a free loopback port with the production "
                                        "model of LEPTON_HOME and measure POST /v1/predict under concurrent clients, "
                                        "beside the predictor called in-process and a bare FastAPI app (the HTTP "
                                        "floor).")
    p.add_argument("app", help="the app to measure (it needs a trained production model)")
    p.add_argument("--clients", type=_client_counts, default=(1, 4, 16, 64),
                   help="comma-separated client counts (default 1,4,16,64)")
    p.add_argument("--requests", type=int, default=400, help="requests per client count, at most (default 400)")
    p.add_argument("--seconds", type=float, default=30.0, help="time limit per client count (default 30)")
    p.add_argument("--batching", choices=["off", "on", "both"], default=None,
                   help="micro-batching modes to measure (default: off, and on for apps that batch)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return perf


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen measurement; a human-readable summary goes to stderr unless ``--json``."""
    if args.command == "trainer":
        from dataclasses import replace

        from lepton_shared.perf.trainer import TrainerBench, compare

        if args.epochs < 1 or args.samples < 100 or args.repeats < 1 or (args.threads is not None
                                                                         and args.threads < 1):
            raise UserError("--epochs, --repeats and --threads must be at least 1 and --samples at least 100")
        bench = TrainerBench.tiny() if args.tiny else TrainerBench(samples=args.samples)
        if not args.tiny:
            bench = replace(bench, epochs=args.epochs, repeats=args.repeats)
        result = compare(replace(bench, device=args.device, threads=args.threads))
        if not args.json:
            print(f"Trainer {result['trainer_s']:.3f} s, plain loop {result['plain_s']:.3f} s: ratio "
                  f"{result['ratio']:.3f} (peak memory {result['peak_rss_mb']} MiB)", file=sys.stderr)
        return result
    if args.command == "serve":
        from lepton_shared.perf.serve import ServeBench, measure

        modes = None if args.batching is None else (("off", "on") if args.batching == "both" else (args.batching,))
        result = measure(ServeBench(app=args.app, clients=tuple(args.clients), requests=args.requests,
                                    seconds=args.seconds, batching=modes))
        if not args.json:
            print(f"{args.app}: in-process p50 {result['inprocess_p50_ms']:.2f} ms, service adds "
                  f"{result['overhead_p50_ms']:.2f} ms p50 (batching {result['batching_default']}), of which "
                  f"{result['http_floor_p50_ms']:.2f} ms is the HTTP floor (a bare FastAPI app)", file=sys.stderr)
        return result
    raise UserError("choose one of: lepton perf trainer, lepton perf serve APP")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m lepton_shared.cli.perf trainer|serve …`` (the same as ``lepton perf …``)."""
    parser = argparse.ArgumentParser(prog="lepton")
    add_parser(parser.add_subparsers(dest="group"))
    args = parser.parse_args(["perf", *(sys.argv[1:] if argv is None else argv)])
    if args.command is None:
        parser.parse_args(["perf", "--help"])
    try:
        result = run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
