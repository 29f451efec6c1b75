"""Recommendation models behind one interface (``implicit``'s ``RecommenderBase``).

* :class:`EASE` - Steck (2019), "Embarrassingly Shallow Autoencoders for
  Sparse Data": a closed-form item-item weight matrix ``B`` with a zero
  diagonal. One matrix inverse, no epochs, and on MovieLens-like data it
  usually beats matrix factorisation by a wide margin.
* :class:`ItemItemModel` - any item-to-item weight matrix (EASE's ``B`` or an
  item-kNN similarity) used as ``scores = history @ W``. This is what the
  registered model is at serving time: it needs no user embedding, so a new
  session is scored without retraining and every score decomposes into
  "because you liked X" contributions.
* :class:`PopularityModel` - the most-interacted items.
* :func:`make_baseline` - ALS, BPR and item-kNN (BM25 / cosine) from ``implicit``.

All of them can be scored by ``implicit.evaluation.ranking_metrics_at_k``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from implicit.recommender_base import RecommenderBase
from scipy import sparse

BASELINES = ("popularity", "als", "bpr", "item_knn_bm25")


@contextlib.contextmanager
def quiet_implicit() -> Iterator[None]:
    """Hide implicit's advisory warnings (CSR conversion, BLAS threads) that users can do nothing about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expects CSR input.*")
        warnings.filterwarnings("ignore", message=".*OpenBLAS is configured.*")
        warnings.filterwarnings("ignore", message=".*Intel MKL BLAS is configured.*")
        yield


def cuda_available() -> bool:
    """Whether ``implicit`` was built with CUDA and a GPU is present (GPU ALS)."""
    import implicit.gpu

    return bool(implicit.gpu.HAS_CUDA)


def resolve_device(device: str | None) -> str:
    """auto | cpu | cuda (GPU ALS); None means the ``LEPTON_DEVICE`` setting."""
    if device is None:
        from lepton_shared.settings import get_settings

        device = get_settings().device
        if device not in ("auto", "cpu", "cuda"):
            from lepton_shared.errors import UserError

            raise UserError(f"LEPTON_DEVICE={device!r} is not a device: use auto, cpu or cuda")
    if device == "cuda" and not cuda_available():
        from lepton_shared.errors import UserError

        raise UserError("--device cuda was asked for but no CUDA GPU (or CUDA build of implicit) is available")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    return device


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest scores per row, best first (rows of a 2-D array)."""
    n = min(n, scores.shape[1])
    if n <= 0:
        return np.empty((scores.shape[0], 0), dtype=np.int32), np.empty((scores.shape[0], 0), dtype=scores.dtype)
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    ids = np.take_along_axis(part, order, axis=1).astype(np.int32)  # implicit's metrics want C ints
    return ids, np.take_along_axis(vals, order, axis=1)


class _ScoringModel(RecommenderBase):
    """Shared ``recommend`` for models that score a batch of history rows at once."""

    n_items: int = 0

    def score(self, user_items: sparse.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, userid: Any, user_items: Any, N: int = 10, filter_already_liked_items: bool = True,
                  filter_items: Any = None, recalculate_user: bool = False,
                  items: Any = None) -> tuple[np.ndarray, np.ndarray]:
        single = np.isscalar(userid)
        rows = sparse.csr_matrix(user_items)
        if rows.shape[1] != self.n_items:
            raise ValueError(f"user_items has {rows.shape[1]} columns, the model knows {self.n_items} items")
        scores = np.asarray(self.score(rows), dtype=np.float32)
        if filter_already_liked_items:
            r, c = rows.nonzero()
            scores[r, c] = -np.inf
        if filter_items is not None:
            scores[:, np.asarray(filter_items)] = -np.inf
        if items is not None:
            mask = np.ones(self.n_items, dtype=bool)
            mask[np.asarray(items)] = False
            scores[:, mask] = -np.inf
        ids, vals = top_n(scores, N)
        return (ids[0], vals[0]) if single else (ids, vals)

    def fit(self, user_items: Any, show_progress: bool = True, callback: Any = None) -> None:
        raise NotImplementedError

    def similar_users(self, userid: Any, N: int = 10, filter_users: Any = None, users: Any = None) -> Any:
        raise NotImplementedError("item-based models have no user representation")

    def similar_items(self, itemid: Any, N: int = 10, recalculate_item: bool = False, item_users: Any = None,
                      filter_items: Any = None, items: Any = None) -> Any:
        raise NotImplementedError

    def save(self, fileobj_or_path: Any) -> None:
        raise NotImplementedError("registered models are saved by apps.recommender.model.Artifact")


class PopularityModel(_ScoringModel):
    """Recommend the items most users interacted with (the cold-start answer, and a baseline)."""

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.float32)

    def fit(self, user_items: Any, show_progress: bool = True, callback: Any = None) -> None:
        x = sparse.csr_matrix(user_items)
        self.n_items = x.shape[1]
        self.counts = np.asarray((x > 0).sum(axis=0), dtype=np.float32).ravel()

    def score(self, user_items: sparse.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.counts, (user_items.shape[0], self.n_items)).copy()


class ItemItemModel(_ScoringModel):
    """``scores = history @ W`` for an item-item weight matrix (dense ndarray or sparse CSR).

    ``active`` marks the items the model may recommend (EASE on a large
    catalogue is fitted on the most popular items only); the others score
    ``-inf``.
    """

    def __init__(self, weights: np.ndarray | sparse.csr_matrix, active: np.ndarray | None = None) -> None:
        self.weights = weights
        self.n_items = weights.shape[0]
        self.active = active

    def score(self, user_items: sparse.csr_matrix) -> np.ndarray:
        x = sparse.csr_matrix(user_items, dtype=np.float32)
        product = x @ self.weights
        scores = product.toarray() if sparse.issparse(product) else np.asarray(product)
        if self.active is not None:
            scores[:, ~self.active] = -np.inf
        return scores

    def contributions(self, history: np.ndarray, item: int) -> np.ndarray:
        """How much each history item adds to ``item``'s score (for explanations)."""
        if len(history) == 0:
            return np.zeros(0, dtype=np.float32)
        col = self.weights[history, item]
        return np.asarray(col.toarray() if sparse.issparse(col) else col, dtype=np.float32).ravel()

    def similar(self, item: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Items whose score rises most when ``item`` is in a history (row ``item`` of ``W``)."""
        row = self.weights[item]
        values = np.asarray(row.toarray() if sparse.issparse(row) else row, dtype=np.float32).ravel().copy()
        values[item] = -np.inf
        if self.active is not None:
            values[~self.active] = -np.inf
        ids, vals = top_n(values[None, :], n)
        keep = np.isfinite(vals[0]) & (vals[0] > 0)
        return ids[0][keep], vals[0][keep]


class EASE(ItemItemModel):
    """EASE^R: ``B = I - P·diag(1/diag(P))`` with ``P = (XᵀX + λI)⁻¹``, then ``diag(B) = 0``.

    ``max_items`` bounds the dense ``n x n`` inverse: with more items than that
    only the most popular ``max_items`` are modelled (memory is
    ``4·max_items²`` bytes). On CUDA the inverse runs on the GPU.
    """

    def __init__(self, l2: float = 200.0, max_items: int = 12_000, device: str = "cpu") -> None:
        super().__init__(np.zeros((0, 0), dtype=np.float32))
        self.l2 = float(l2)
        self.max_items = int(max_items)
        self.device = device

    def fit(self, user_items: Any, show_progress: bool = True, callback: Any = None) -> None:
        x = sparse.csr_matrix(user_items, dtype=np.float32)
        x.data[:] = 1.0
        n = x.shape[1]
        counts = np.asarray(x.sum(axis=0)).ravel()
        keep = np.arange(n)
        if n > self.max_items:  # model the most popular items only
            keep = np.sort(np.argsort(-counts, kind="stable")[: self.max_items])
        sub = x[:, keep]
        gram = np.asarray((sub.T @ sub).toarray(), dtype=np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        p = _inverse(gram, self.device)
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        if len(keep) == n:
            self.weights = b.astype(np.float32)
            self.active = None
        else:  # embed the modelled block in an n x n sparse matrix
            coo = sparse.coo_matrix(b.astype(np.float32))
            self.weights = sparse.csr_matrix((coo.data, (keep[coo.row], keep[coo.col])), shape=(n, n))
            self.active = np.zeros(n, dtype=bool)
            self.active[keep] = True
        self.n_items = n


def _inverse(gram: np.ndarray, device: str) -> np.ndarray:
    if device == "cuda":
        import torch

        if torch.cuda.is_available():
            g = torch.from_numpy(gram).to("cuda", dtype=torch.float32)
            return torch.linalg.inv(g).double().cpu().numpy()  # type: ignore[no-any-return]
    from scipy import linalg

    return linalg.inv(gram, overwrite_a=True, check_finite=False)  # type: ignore[no-any-return]


def knn_model(similarity: str = "bm25", k: int = 100, k1: float = 1.2, b: float = 0.75) -> RecommenderBase:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    if similarity == "bm25":
        return BM25Recommender(K=int(k), K1=float(k1), B=float(b), num_threads=1)
    return CosineRecommender(K=int(k), num_threads=1)


def make_baseline(name: str, params: dict[str, Any], seed: int = 42, device: str = "cpu") -> RecommenderBase:
    """An unfitted baseline model; ``params`` are the (tuned) hyperparameters."""
    if name == "popularity":
        return PopularityModel()
    if name == "item_knn_bm25":
        return knn_model("bm25", params.get("k", 100), params.get("k1", 1.2), params.get("b", 0.75))
    if name == "item_knn_cosine":
        return knn_model("cosine", params.get("k", 100))
    gpu = device == "cuda" and cuda_available()
    if name == "als":
        from implicit.als import AlternatingLeastSquares

        with quiet_implicit():  # it warns about BLAS threads at construction; fit_model limits them
            return AlternatingLeastSquares(factors=int(params.get("factors", 64)),
                                           regularization=float(params.get("regularization", 0.05)),
                                           alpha=float(params.get("alpha", 1.0)),
                                           iterations=int(params.get("iterations", 15)),
                                           use_gpu=gpu, random_state=seed, num_threads=0)
    if name == "bpr":
        from implicit.bpr import BayesianPersonalizedRanking

        # one thread: BPR's SGD updates from several threads race (Hogwild), so the same seed gave other figures
        return BayesianPersonalizedRanking(factors=int(params.get("factors", 64)),
                                           learning_rate=float(params.get("learning_rate", 0.05)),
                                           regularization=float(params.get("regularization", 0.01)),
                                           iterations=int(params.get("iterations", 100)),
                                           use_gpu=gpu, random_state=seed, num_threads=1)
    raise ValueError(f"unknown baseline {name!r}")


def fit_model(model: RecommenderBase, user_items: sparse.csr_matrix) -> RecommenderBase:
    """Fit quietly, with BLAS limited to one thread (implicit's own threads do the work)."""
    from threadpoolctl import threadpool_limits

    x = sparse.csr_matrix(user_items, dtype=np.float32)
    if isinstance(model, EASE):  # the inverse is one big BLAS call: let it use every core
        model.fit(x, show_progress=False)
        return model
    with threadpool_limits(1, "blas"), quiet_implicit():
        model.fit(x, show_progress=False)
    return model


def item_weights(model: RecommenderBase) -> ItemItemModel:
    """The serving form of a fitted item-based model (EASE or implicit item-kNN)."""
    if isinstance(model, ItemItemModel):
        return model
    similarity = getattr(model, "similarity", None)
    if similarity is None:
        raise TypeError(f"{type(model).__name__} is not an item-item model")
    return ItemItemModel(sparse.csr_matrix(similarity, dtype=np.float32))
