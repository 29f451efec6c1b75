"""The fixed evaluation protocol: split, metrics and tuning, on fixed tiny data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from apps.recommender.data import builtin_spec, generate_shop
from apps.recommender.models import ItemItemModel
from apps.recommender.protocol import best_of, candidate_grid, encode, relative_gain, score, split, tune
from apps.recommender.training import in_file_space, protocol_scores


def test_metrics_by_hand() -> None:
    """Two users, one held-out item each: ranks 1 and 3 give NDCG (1 + 0.5) / 2 and MAP (1 + 1/3) / 2."""
    w = np.zeros((12, 12), dtype=np.float32)  # at least K items: implicit reads K ids per user
    w[0, 2:5] = [3, 2, 1]
    w[1, 2:5] = [1, 2, 3]
    train = sparse.csr_matrix(([1.0, 1.0], ([0, 1], [0, 1])), shape=(2, 12), dtype=np.float32)
    test = sparse.csr_matrix(([1.0, 1.0], ([0, 1], [2, 2])), shape=(2, 12), dtype=np.float32)
    m = score(ItemItemModel(w), train, test)
    assert m["precision_at_10"] == pytest.approx(1.0)
    assert m["ndcg_at_10"] == pytest.approx(0.75)
    assert m["map_at_10"] == pytest.approx((1 + 1 / 3) / 2)


def test_split_is_the_fixed_80_20_with_seed_42() -> None:
    data = generate_shop(**builtin_spec(tiny=True))
    enc = encode(data.frame)
    train, test = split(enc.matrix)
    again, _ = split(enc.matrix)
    assert (train != again).nnz == 0  # same seed, same split
    assert train.nnz + test.nnz == enc.matrix.nnz
    assert test.nnz / enc.matrix.nnz == pytest.approx(0.2, abs=0.02)
    assert train.multiply(test).nnz == 0


def test_encode_keeps_known_positions_and_appends_new_ids() -> None:
    import pandas as pd

    frame = pd.DataFrame({"user_id": ["b", "a"], "item_id": ["y", "z"]})
    enc = encode(frame, user_ids=["a"], item_ids=["x", "y"])
    assert enc.user_ids.tolist() == ["a", "b"] and enc.item_ids.tolist() == ["x", "y", "z"]
    assert enc.matrix.toarray().tolist() == [[0, 0, 1], [0, 1, 0]]


def test_protocol_numbers_on_fixed_tiny_data() -> None:
    """Regression guard on the tiny shop: EASE tuned on validation beats every baseline on the test split."""
    data = generate_shop(**builtin_spec(tiny=True))
    enc = encode(data.frame)
    train, _ = split(enc.matrix)
    grid = candidate_grid(enc.matrix.shape[1], train.nnz, tiny=True, epochs=2)
    trials = tune(train, grid, seed=42, device="cpu", show_progress=False)
    best = best_of(trials, grid)
    assert set(best) == set(grid)
    from apps.recommender.models import EASE, fit_model

    model = fit_model(EASE(l2=best["ease"].params["l2"]), train)
    result = protocol_scores(model, enc.item_ids, data, {k: t.params for k, t in best.items()}, 42, "cpu",
                             show_progress=False)
    assert result["n_interactions"] == enc.matrix.nnz and result["n_test_interactions"] > 0
    assert set(result["baselines"]) == {"popularity", "als", "bpr", "item_knn_bm25"}
    for name, metrics in result["baselines"].items():
        assert 0 <= metrics["ndcg_at_10"] < result["ndcg_at_10"], name
    assert result["baselines"]["popularity"]["ndcg_at_10"] > 0.05  # popularity is a real baseline
    assert result["ndcg_at_10"] == pytest.approx(0.4814, abs=0.03)  # measured on this fixed data
    assert relative_gain(result["ndcg_at_10"], result["baselines"])[1] > 0


def test_in_file_space_reorders_and_hides_unknown_items() -> None:
    w = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0]], dtype=np.float32)
    model = ItemItemModel(w)
    moved = in_file_space(model, np.array(["a", "b", "c"], dtype=object), np.array(["c", "a", "new"], dtype=object))
    assert moved.weights[0, 1] == 2 and moved.weights[1, 0] == 2
    assert moved.active is not None and moved.active.tolist() == [True, True, False]
