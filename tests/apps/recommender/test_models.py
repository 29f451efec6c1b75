"""EASE, the item-item scorer, popularity and the baselines from implicit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from apps.recommender.models import BASELINES, EASE, ItemItemModel, PopularityModel, fit_model, make_baseline, top_n


def _matrix() -> sparse.csr_matrix:
    rng = np.random.default_rng(0)
    dense = (rng.random((60, 15)) < 0.3).astype(np.float32)
    dense[:, 1] = dense[:, 0]  # item 1 always comes with item 0
    return sparse.csr_matrix(dense)


def test_ease_matches_the_closed_form() -> None:
    x = _matrix()
    model = EASE(l2=10.0)
    model.fit(x)
    g = (x.T @ x).toarray().astype(np.float64) + 10.0 * np.eye(15)
    p = np.linalg.inv(g)
    expected = -p / np.diag(p)
    np.fill_diagonal(expected, 0.0)
    assert np.allclose(model.weights, expected, atol=1e-5)
    assert np.all(np.diag(model.weights) == 0)
    assert model.weights[0, 1] > 0.3  # the companion relation is learned


def test_ease_on_part_of_a_large_catalogue() -> None:
    x = _matrix()
    model = EASE(l2=10.0, max_items=5)
    model.fit(x)
    assert sparse.issparse(model.weights) and model.weights.shape == (15, 15)
    assert model.active is not None and model.active.sum() == 5
    ids, _ = model.recommend(np.arange(3), x[:3], N=15, filter_already_liked_items=False)
    top5 = ids[:, :5]
    assert np.all(model.active[top5])  # only modelled items can be recommended before -inf ones


def test_recommend_filters_liked_items_and_returns_c_ints() -> None:
    x = _matrix()
    model = EASE(l2=5.0)
    model.fit(x)
    ids, scores = model.recommend(np.arange(10), x[:10], N=5)
    assert ids.dtype == np.int32 and ids.shape == (10, 5)
    for row in range(10):
        assert not set(ids[row]) & set(x[row].indices)
        assert np.all(np.diff(scores[row]) <= 0)
    single_ids, _ = model.recommend(0, x[0], N=3)
    assert single_ids.shape == (3,)


def test_top_n_orders_best_first() -> None:
    ids, vals = top_n(np.array([[0.1, 0.9, 0.5, 0.7]]), 3)
    assert ids.tolist() == [[1, 3, 2]] and vals[0].tolist() == pytest.approx([0.9, 0.7, 0.5])


def test_item_item_contributions_and_similar() -> None:
    w = np.array([[0, 2, 1], [2, 0, 0.5], [1, 0.5, 0]], dtype=np.float32)
    model = ItemItemModel(w)
    assert model.contributions(np.array([0, 1]), 2).tolist() == [1.0, 0.5]
    ids, vals = model.similar(0, 5)
    assert ids.tolist() == [1, 2] and vals.tolist() == [2.0, 1.0]
    assert model.score(sparse.csr_matrix(np.array([[1, 1, 0]], dtype=np.float32))).tolist() == [[2, 2, 1.5]]


def test_popularity_scores_counts() -> None:
    x = sparse.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1]], dtype=np.float32))
    model = PopularityModel()
    model.fit(x)
    assert model.counts.tolist() == [3, 1, 1]
    ids, _ = model.recommend(1, x[1], N=2)
    assert ids[0] in (1, 2) and 0 not in ids


@pytest.mark.parametrize("name", BASELINES)
def test_baselines_fit_and_recommend(name: str) -> None:
    x = _matrix()
    params = {"factors": 4, "iterations": 2} if name in ("als", "bpr") else {"k": 5}
    model = fit_model(make_baseline(name, params, seed=1), x)
    ids, _ = model.recommend(np.arange(5), x[:5], N=3)
    assert np.asarray(ids).shape == (5, 3)


def test_device_resolution() -> None:
    from apps.recommender.models import cuda_available, resolve_device
    from lepton_shared.errors import UserError

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if cuda_available() else "cpu")
    if not cuda_available():
        with pytest.raises(UserError, match="CUDA"):
            resolve_device("cuda")
