"""``lepton perf trainer`` on a seconds-long workload: the keys, a positive ratio, identical arithmetic."""

from __future__ import annotations

import argparse
import json

import pytest

from lepton_shared.cli import perf


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lepton")
    perf.add_parser(parser.add_subparsers(dest="group"))
    return parser.parse_args(argv)


def test_perf_trainer_tiny_returns_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    result = perf.run(_parse(["perf", "trainer", "--tiny", "--json"]))
    assert {"trainer_s", "plain_s", "ratio", "peak_rss_mb", "load_average", "trainer_runs_s"} <= set(result)
    assert result["trainer_s"] > 0 and result["plain_s"] > 0 and result["ratio"] > 0
    assert result["same_result"], (result["trainer_final_loss"], result["plain_final_loss"])
    json.dumps(result)  # JSON-able
    assert capsys.readouterr().out == ""  # the CLI prints the JSON; progress went to stderr


def test_perf_arguments() -> None:
    args = _parse(["perf", "serve", "chatbot", "--clients", "1,4", "--requests", "7", "--json"])
    assert args.clients == (1, 4) and args.requests == 7 and args.app == "chatbot"
    with pytest.raises(SystemExit):
        _parse(["perf", "serve", "chatbot", "--clients", "1,x"])
    with pytest.raises(SystemExit):
        _parse(["perf", "serve", "chatbot", "--clients", "0"])
