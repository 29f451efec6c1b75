"""The HTTP API over real HTTP (good and bad input), and the routes the page uses, on one tiny model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app


@pytest.fixture(scope="module")
def base(copy_home: Callable[[Path], Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from apps.maintenance.app import APP

    home = copy_home(tmp_path_factory.mktemp("maintenance-service") / "home")
    with lepton_env(home), serve_app(APP.create_service()) as url:
        yield url


def _readings(n: int = 35, seed: int = 5) -> list[dict[str, float]]:
    from apps.maintenance.simulator import simulate_fleet

    frame = simulate_fleet(1, seed=seed)
    cols = [c for c in frame.columns if c.startswith(("s_", "setting_"))]
    return frame[cols].iloc[-n:].to_dict("records")


def test_machine_readings_assessment_and_fleet(base: str) -> None:
    resp = httpx.post(f"{base}/v1/machines/pump-7/readings", json={"readings": _readings()}, timeout=30)
    assert resp.status_code == 200 and resp.json()["total"] == 35
    httpx.post(f"{base}/v1/machines/pump-8/readings", json={"readings": _readings(5, seed=9)[:1]}, timeout=30)
    body = httpx.get(f"{base}/v1/machines/pump-7", timeout=30).json()
    assert 0 <= body["rul_low"] <= body["rul"] <= body["rul_high"]
    assert body["recommended_action"] in ("run", "service", "replace")
    assert {"expected_cost_act_now", "expected_cost_wait"} <= set(body)
    fleet = httpx.get(f"{base}/v1/fleet", timeout=30).json()["machines"]
    assert [m["machine_id"] for m in fleet] == sorted([m["machine_id"] for m in fleet],
                                                      key=lambda m: next(x["rul_low"] for x in fleet
                                                                         if x["machine_id"] == m))
    assert len(fleet) == 2


def test_a_reported_failure_labels_the_machine(base: str) -> None:
    httpx.post(f"{base}/v1/machines/pump-9/readings", json={"readings": _readings(30)}, timeout=30)
    assert httpx.get(f"{base}/v1/machines/pump-9", timeout=30).json()["reading"] == 30
    first = httpx.post(f"{base}/v1/machines/pump-9/failure", json={}, timeout=30)
    assert first.status_code == 200 and first.json() == {"machine_id": "pump-9", "at_reading": 30, "new": True}
    again = httpx.post(f"{base}/v1/machines/pump-9/failure", json={"at_reading": 30}, timeout=30).json()
    assert again["new"] is False
    late = httpx.post(f"{base}/v1/machines/pump-9/failure", json={"at_reading": 31}, timeout=30)
    assert late.status_code == 400 and "30 readings" in late.json()["detail"]
    assert httpx.post(f"{base}/v1/machines/pump-9/failure", json={"at_reading": 0}, timeout=30).status_code == 422
    unknown = httpx.post(f"{base}/v1/machines/nobody/failure", json={}, timeout=30)
    assert unknown.status_code == 404 and "no readings" in unknown.json()["detail"]


def test_history_has_the_band_at_every_reading(base: str) -> None:
    httpx.post(f"{base}/v1/machines/fan-1/readings", json={"readings": _readings(50, seed=6)}, timeout=30)
    history = httpx.get(f"{base}/v1/machines/fan-1/history", timeout=30).json()
    assert history["reading"] == list(range(1, 51))
    assert 1 <= len(history["sensors"]) <= 6 and all(len(v) == 50 for v in history["sensors"].values())
    assert all(len(history[k]) == 50 for k in ("rul", "rul_low", "rul_high"))
    assert all(lo <= r <= hi for lo, r, hi in zip(history["rul_low"], history["rul"], history["rul_high"],
                                                  strict=True))
    now = httpx.get(f"{base}/v1/machines/fan-1", timeout=30).json()
    assert history["rul"][-1] == now["rul"] and history["rul_low"][-1] == now["rul_low"]
    assert httpx.get(f"{base}/v1/machines/ghost/history", timeout=30).status_code == 404


def test_a_long_history_is_numbered_by_its_newest_readings(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.maintenance import service

    monkeypatch.setattr(service, "HISTORY", 20)
    httpx.post(f"{base}/v1/machines/fan-2/readings", json={"readings": _readings(50, seed=7)}, timeout=30)
    history = httpx.get(f"{base}/v1/machines/fan-2/history", timeout=30).json()
    assert history["reading"] == list(range(31, 51)) and len(history["rul"]) == 20
    assert httpx.get(f"{base}/v1/machines/fan-2", timeout=30).json()["reading"] == 50
    fleet = httpx.get(f"{base}/v1/fleet", timeout=30).json()["machines"]
    assert next(m for m in fleet if m["machine_id"] == "fan-2")["reading"] == 50


def test_saved_policy_comparison(base: str) -> None:
    saved = httpx.get(f"{base}/v1/policies", timeout=30).json()
    assert set(saved["simulator"]["policies"]) == {"rl", "run_to_failure", "fixed_interval", "rul_threshold"}
    assert all(p["episodes"] == 2 for p in saved["simulator"]["policies"].values())
    assert isinstance(saved["simulator"]["rl_saving_vs_best_baseline"], float)
    assert saved["costs"]["downtime_cost"] == 250.0 and saved["replay"] is None


def test_bad_input_gets_clear_4xx(base: str) -> None:
    assert httpx.get(f"{base}/v1/machines/ghost", timeout=30).status_code == 404
    resp = httpx.post(f"{base}/v1/machines/x/readings", json={"readings": []}, timeout=30)
    assert resp.status_code == 422 and resp.json()["detail"]
    resp = httpx.post(f"{base}/v1/machines/x/readings", json={"readings": [{"s_1": "hot"}]}, timeout=30)
    assert resp.status_code == 422
    resp = httpx.post(f"{base}/v1/predict", json={"readings": [{"s_1": 1.0}]}, timeout=30)
    assert resp.status_code == 400 and "lack sensor" in resp.json()["detail"]
    httpx.post(f"{base}/v1/machines/partial/readings", json={"readings": [{"s_1": 1.0}]}, timeout=30)
    resp = httpx.get(f"{base}/v1/machines/partial", timeout=30)
    assert resp.status_code == 400 and "Traceback" not in resp.text
    resp = httpx.post(f"{base}/v1/policies/compare", json={"costs": {"coffee": 3.0}}, timeout=30)
    assert resp.status_code == 400 and "unknown cost setting" in resp.json()["detail"]
    resp = httpx.post(f"{base}/v1/policies/compare", json={"episodes": 0}, timeout=30)
    assert resp.status_code == 422


def test_demo_fleet_through_the_page_client(fresh_home: Path) -> None:
    """The page's client, in-process: an empty fleet, six simulated machines added once, ranked by urgency."""
    from lepton_shared.ui import AppClient

    client = AppClient("maintenance")
    assert not client.remote and client.get("/v1/fleet")["machines"] == []
    assert client.post("/v1/fleet/demo")["added"] == [f"M{i}" for i in range(1, 7)]
    assert client.post("/v1/fleet/demo")["added"] == []
    machines = client.get("/v1/fleet")["machines"]
    assert len(machines) == 6 and all("error" not in m for m in machines)
    lows = [m["rul_low"] for m in machines]
    assert lows == sorted(lows)


def test_simulated_fleet_runs_on_through_the_page_client(fresh_home: Path) -> None:
    """Each simulated machine sends its next readings from its simulated life, to its end and no further; the
    fleet stays ranked by urgency; a machine of one's own is left alone."""
    from apps.maintenance.data import demo_fleet, demo_lives
    from apps.maintenance.storage import failures, reading_counts
    from lepton_shared.ui import AppClient, ServiceError

    client = AppClient("maintenance")
    with pytest.raises(ServiceError) as missing:
        client.post("/v1/fleet/demo/advance", json={"cycles": 5})
    assert missing.value.status == 404 and "POST /v1/fleet/demo" in str(missing.value)
    client.post("/v1/fleet/demo")
    client.post("/v1/machines/own-1/readings", json={"readings": _readings(20)})
    before = reading_counts()
    started = demo_fleet().groupby("unit").size()
    lives = demo_lives().groupby("unit").size()
    assert all(before[f"M{unit}"] == n for unit, n in started.items())

    ran = client.post("/v1/fleet/demo/advance", json={"cycles": 7})
    after = reading_counts()
    assert ran["advanced"] == {f"M{u}": min(7, int(lives[u] - n)) for u, n in started.items() if lives[u] > n}
    assert all(after[m] == before[m] + k for m, k in ran["advanced"].items()) and after["own-1"] == 20
    lows = [m["rul_low"] for m in client.get("/v1/fleet")["machines"]]
    assert len(lows) == 7 and lows == sorted(lows)

    nearest = min(started.index, key=lambda u: lives[u] - started[u])  # the machine nearest its end
    for _ in range(-(-int(lives[nearest] - after[f"M{nearest}"]) // 50)):
        client.post("/v1/fleet/demo/advance", json={"cycles": 50})
    assert f"M{nearest}" in client.post("/v1/fleet/demo/advance", json={"cycles": 1})["failed"]
    assert reading_counts()[f"M{nearest}"] == lives[nearest]
    assert failures()[f"M{nearest}"] == [lives[nearest]]  # recorded as a real failure report would be
    with pytest.raises(ServiceError) as bad:
        client.post("/v1/fleet/demo/advance", json={"cycles": 0})
    assert bad.value.status == 422


@pytest.mark.slow
def test_comparison_with_other_costs_retunes_the_baselines(fresh_home: Path) -> None:
    from lepton_shared.ui import AppClient

    result = AppClient("maintenance").post("/v1/policies/compare",
                                           json={"costs": {"failure_cost": 12000}, "episodes": 1})
    assert result["costs"]["failure_cost"] == 12000.0 and result["costs"]["downtime_cost"] == 250.0
    assert set(result["policies"]) == {"rl", "run_to_failure", "fixed_interval", "rul_threshold"}
    assert all(p["episodes"] == 1 for p in result["policies"].values())
    assert isinstance(result["rl_saving_vs_best_baseline"], float)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_readings_are_422_and_not_stored(lepton_home: Path, value: str) -> None:
    from apps.maintenance import storage
    from apps.maintenance.app import APP

    with serve_app(APP.create_service()) as url:
        resp = httpx.post(f"{url}/v1/machines/inf-1/readings", content=f'{{"readings": [{{"s_2": {value}}}]}}',
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 422 and "finite" in resp.json()["detail"], resp.text
    assert storage.recent_readings("inf-1", 10) == []
