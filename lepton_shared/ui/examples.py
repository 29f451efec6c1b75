"""Examples to click on an app's page, so every page is usable before one has data of one's own.

Each page draws its examples from its app's built-in data (the same generators ``train`` uses), never from
hard-coded answers: the answer always comes from the served model through :class:`AppClient`, so an example
shows what the model does, in-process or against the service alike. :func:`pick_example` is the one way a
page lays them out as buttons, and keeps the one clicked last across Streamlit's reruns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st


@dataclass(frozen=True)
class Example:
    """One clickable example: its button text, what the page sends for it, and an optional hint."""

    label: str
    value: Any
    hint: str = ""


def pick_example(examples: Sequence[Example], key: str, columns: int = 4,
                 above: Callable[[Example], object] | None = None) -> Example | None:
    """One button per example in a grid of ``columns``; the example clicked last (None before any click).

    ``above`` draws something over each button (a thumbnail, say). The choice lives in the session state
    under ``key``, so a later rerun (another widget, a tab switch) still shows the same example's answer.
    """
    if not examples:
        return None
    grid = st.columns(min(columns, len(examples)))
    for index, example in enumerate(examples):
        with grid[index % len(grid)]:
            if above is not None:
                above(example)
            if st.button(example.label, key=f"{key}-{index}", help=example.hint or None, width="stretch"):
                st.session_state[key] = index
    chosen = st.session_state.get(key)
    return examples[chosen] if isinstance(chosen, int) and chosen < len(examples) else None


def forget_example(key: str) -> None:
    """Clear the clicked example (e.g. once its answer has been sent and kept elsewhere)."""
    st.session_state.pop(key, None)
