"""Starting ``spawn`` child processes safely from any caller."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager


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
