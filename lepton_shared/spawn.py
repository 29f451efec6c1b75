"""Starting ``spawn`` child processes safely from any caller, and stopping any child for sure."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def hidden_main() -> Iterator[None]:
    """Hide the caller's ``__main__`` while ``spawn`` children start.

    A ``spawn`` child re-runs the parent's main script (by path or module name) before it unpickles its target;
    when that script is a Streamlit page, or a test runner whose ``__main__`` a page test swapped, the child would
    render the page or fail. Targets are found by their module names, so children need nothing from it."""
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def stop(proc: subprocess.Popen[Any], timeout: float = 15.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` seconds: a child that ignores the first (a server still draining,
    a training in a C extension) must not outlive its parent's clean-up. Returns whether it had to be killed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True
    return False
