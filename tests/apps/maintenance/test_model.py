"""The RUL model: shapes, architecture choice, save/load round trip, the band, and that it learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from apps.maintenance.data import split_units
from apps.maintenance.features import FeatureSpec, make_windows
from apps.maintenance.model import RulDCNN, RulEnsemble, band_profile, build_net, train_ensemble
from apps.maintenance.simulator import simulate_fleet


def test_dcnn_keeps_the_window_length_and_is_small() -> None:
    net = build_net("dcnn", n_features=14, window=30)
    assert isinstance(net, RulDCNN)
    assert net(torch.zeros(4, 30, 14)).shape == (4,)
    # Li et al.'s DCNN has ~8k weights; a much bigger net overfits the ~85 FD001 training engines
    assert sum(p.numel() for p in net.parameters()) < 10_000
    with pytest.raises(ValueError, match="unknown RUL architecture"):
        build_net("transformer-xl", 14, 30)


@pytest.mark.parametrize("arch", ["dcnn", "cnn"])
def test_ensemble_round_trip_keeps_architecture_and_estimates(tmp_path: Path, arch: str) -> None:
    fleet = simulate_fleet(6, seed=4)
    spec = FeatureSpec.fit(fleet)
    states = [build_net(arch, len(spec.columns), spec.window).state_dict() for _ in range(2)]
    ens = RulEnsemble(spec, states, residual_sd=3.0, arch=arch)
    x, _, _ = make_windows(fleet, spec)
    ens.save(tmp_path / "rul")
    back = RulEnsemble.load(tmp_path / "rul")
    assert back.arch == arch and back.width == ens.width
    np.testing.assert_allclose(back.predict_windows(x)[0], ens.predict_windows(x)[0], rtol=1e-5, atol=1e-4)
    mean, lo, hi = back.predict_windows(x)
    assert np.all(lo <= mean) and np.all(mean <= hi)
    assert np.all(hi - mean >= 1.645 * 3.0 - 1e-3)  # at least the residual spread (the low end is clipped at 0)


def test_dcnn_ensemble_learns_rul_on_held_out_machines() -> None:
    fleet = simulate_fleet(30, seed=11)
    train, val = split_units(fleet, 0.2, seed=0)
    spec = FeatureSpec.fit(train)
    ens, summaries = train_ensemble(train, val, spec, members=2, epochs=6, seed=0, device="cpu",
                                    show_progress=False)
    x, y, _ = make_windows(val, spec)
    mean, lo, hi = ens.predict_windows(x)
    rmse = float(np.sqrt(np.mean((mean - y) ** 2)))
    constant = float(np.sqrt(np.mean((y.mean() - y) ** 2)))
    assert len(summaries) == 2 and ens.arch == "dcnn"
    assert rmse < 0.8 * constant  # it uses the sensors, not just the average RUL
    assert ens.residual_sd > 0 and np.mean((y >= lo) & (y <= hi)) > 0.6


def test_band_profile_widens_with_the_estimate_and_covers_each_range() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 125, 20_000)
    estimate = np.clip(truth + rng.normal(0, 0.5 + 0.1 * truth), 0, 125)  # errors grow with the remaining life
    knots, half = band_profile(estimate, truth, 125.0)
    assert len(knots) == 5 and half[:4] == sorted(half[:4]) and half[3] > 4 * half[0]
    ens = RulEnsemble(FeatureSpec(["s_1"], [0.0], [1.0]), [], band=(knots, half))
    fresh = rng.uniform(0, 125, 20_000)
    fresh_estimate = np.clip(fresh + rng.normal(0, 0.5 + 0.1 * fresh), 0, 125)
    covered = np.abs(fresh_estimate - fresh) <= ens.half_width(fresh_estimate)
    for low in (0, 50, 100):  # about 90 % near failure and mid-life alike, not 100 % in one and 70 % in the other
        in_range = (fresh_estimate >= low) & (fresh_estimate < low + 25)
        assert 0.85 < covered[in_range].mean() < 0.95


def test_band_profile_with_few_points_is_one_width() -> None:
    knots, half = band_profile(np.array([10.0, 20.0, 30.0]), np.array([12.0, 20.0, 40.0]), 125.0)
    assert len(knots) == 1 and 2.0 < half[0] <= 10.0


def test_band_is_saved_and_without_a_profile_is_the_normal_band(tmp_path: Path) -> None:
    fleet = simulate_fleet(4, seed=6)
    spec = FeatureSpec.fit(fleet)
    band = ([12.5, 62.5, 112.5], [3.0, 10.0, 20.0])
    state = build_net("dcnn", spec.net_channels, spec.window).state_dict()
    ens = RulEnsemble(spec, [state], residual_sd=4.0, band=band)
    ens.save(tmp_path / "rul")
    assert RulEnsemble.load(tmp_path / "rul").band == band
    np.testing.assert_allclose(ens.half_width(np.array([12.5, 37.5, 200.0])), [3.0, 6.5, 20.0])
    # an ensemble fitted without held-out machines (a cross-fitting fold) has no profile: a normal band
    plain = RulEnsemble(spec, [state], residual_sd=4.0)
    plain.save(tmp_path / "plain")
    assert RulEnsemble.load(tmp_path / "plain").band is None
    np.testing.assert_allclose(plain.half_width(np.array([10.0, 100.0])), [1.645 * 4.0] * 2)


def test_same_seed_trains_the_same_ensemble() -> None:
    """``--seed`` fixes the initial weights too (torch seeds itself at random on start-up)."""
    fleet = simulate_fleet(6, seed=7)
    spec = FeatureSpec.fit(fleet)
    torch.manual_seed(123)  # whatever state the process is in before training must not matter
    first, _ = train_ensemble(fleet, None, spec, members=2, epochs=1, seed=5, device="cpu", show_progress=False)
    torch.manual_seed(456)
    again, _ = train_ensemble(fleet, None, spec, members=2, epochs=1, seed=5, device="cpu", show_progress=False)
    other, _ = train_ensemble(fleet, None, spec, members=2, epochs=1, seed=6, device="cpu", show_progress=False)
    x, _, _ = make_windows(fleet, spec)
    np.testing.assert_array_equal(first.predict_windows(x)[0], again.predict_windows(x)[0])
    assert not np.array_equal(first.predict_windows(x)[0], other.predict_windows(x)[0])
