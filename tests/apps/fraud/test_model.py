from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from apps.fraud.features import FEATURES, offline_features
from apps.fraud.model import FraudModel
from apps.fraud.training import fit_lightgbm, fit_mlp


@pytest.fixture(scope="module")
def xy(small_data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return offline_features(small_data)[FEATURES].to_numpy(), small_data["TX_FRAUD"].to_numpy()


def test_lightgbm_learns_saves_and_explains(xy, tmp_path: Path) -> None:
    x, y = xy
    half = len(y) // 2
    model = fit_lightgbm(x[:half], y[:half], FEATURES, rounds=50)
    p = model.predict_proba(x[half:])
    assert p.min() >= 0 and p.max() <= 1
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[half:], p) > 0.8
    # SHAP contributions sum to the log-odds
    contrib = np.asarray(model.booster.predict(x[half:half + 20], pred_contrib=True))
    logit = np.log(p[:20] / (1 - p[:20]))
    np.testing.assert_allclose(contrib.sum(axis=1), logit, rtol=1e-5, atol=1e-5)
    model.save(tmp_path)
    again = FraudModel.load(tmp_path)
    np.testing.assert_allclose(again.predict_proba(x[:50]), model.predict_proba(x[:50]))


def test_mlp_trains_through_the_shared_trainer(xy, tmp_path: Path, lepton_home) -> None:
    x, y = xy
    half = len(y) // 2
    model = fit_mlp(x[:half], y[:half], FEATURES, x[half:], y[half:], epochs=2, device="cpu")
    assert model.info["epochs_run"] >= 1
    p = model.predict_proba(x[half:])
    assert np.isfinite(p).all() and p.min() >= 0 and p.max() <= 1
    assert model.logit_shift > 0  # the class weight is undone at scoring time
    assert model.contributions(x[:5]).shape == (5, len(FEATURES))
    model.save(tmp_path)
    np.testing.assert_allclose(FraudModel.load(tmp_path).predict_proba(x[:50]), model.predict_proba(x[:50]),
                               rtol=1e-5)
