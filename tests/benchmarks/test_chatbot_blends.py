"""The blend check's log-linear mixture and its grid choice on made-up probabilities."""

from __future__ import annotations

from functools import partial

import numpy as np

from benchmarks.chatbot_blends import choose_on_grid, log_linear


def test_log_linear_rows_are_probabilities_and_zero_weights_give_the_head() -> None:
    rng = np.random.default_rng(0)
    head, vote, text = (rng.dirichlet(np.ones(4), size=5) for _ in range(3))
    mixed = log_linear(head, vote, text, 0.3, 0.2)
    assert np.allclose(mixed.sum(axis=1), 1.0)
    assert np.allclose(log_linear(head, vote, text, 0.0, 0.0), head, atol=1e-6)


def test_the_grid_gives_weight_to_the_part_that_knows_the_answer() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 200)
    head = rng.dirichlet(np.ones(4), size=200)  # knows nothing
    text = np.full((200, 4), 0.1)
    text[np.arange(200), y] = 0.7  # always right
    vote = rng.dirichlet(np.ones(4), size=200)
    wv, wt = choose_on_grid(partial(log_linear, head, vote, text), y)
    assert wt > 0.3 and wv < wt
