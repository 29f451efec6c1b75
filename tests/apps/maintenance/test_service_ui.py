"""HTTP API (good and bad input) and the Streamlit page in a headless browser, on one tiny model."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lepton_shared.testing.env import lepton_env
from lepton_shared.testing.server import serve_app


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from apps.maintenance.pipeline import train

    path = tmp_path_factory.mktemp("maintenance-home")
    with lepton_env(path):
        train(argparse.Namespace(data=None, seed=1, device="cpu", epochs=1, no_promote=False, tiny=True, cost=None,
                                 episodes=2, members=1, rl_steps=1024))
        yield path


@pytest.fixture(scope="module")
def base(home: Path) -> Iterator[str]:
    from apps.maintenance.app import APP

    with serve_app(APP.create_service()) as url:
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


@pytest.mark.browser
@pytest.mark.slow
def test_streamlit_page_shows_fleet_and_reruns_comparison(home: Path) -> None:
    from apps.maintenance.app import APP
    from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_streamlit

    with streamlit_server(APP.ui_script, env={"LEPTON_HOME": str(home)}) as url, \
            browser_page("maintenance-ui") as page:
        page.goto(url)
        wait_for_streamlit(page)
        page.get_by_text("Fleet, most urgent first").wait_for()
        page.get_by_text("recommended:").first.wait_for()
        page.get_by_role("button", name="Re-run comparison").click()
        page.get_by_text("With your costs").wait_for(timeout=180_000)
        wait_for_streamlit(page)
