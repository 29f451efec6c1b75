"""``lepton_shared.spawn.stop``: a child is stopped for sure, politely when it listens."""

from __future__ import annotations

import subprocess
import sys
import time


def test_a_child_that_listens_stops_on_sigterm() -> None:
    from lepton_shared.spawn import stop

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stop(proc, timeout=10) is False
    assert proc.returncode == -15  # SIGTERM, not SIGKILL


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    from lepton_shared.spawn import stop

    code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"  # its handler is in place
    started = time.monotonic()
    assert stop(proc, timeout=0.5) is True
    assert proc.returncode == -9 and time.monotonic() - started < 10


def test_a_child_that_already_ended_is_left_alone() -> None:
    from lepton_shared.spawn import stop

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert stop(proc) is False and proc.returncode == 0
