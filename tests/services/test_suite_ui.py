"""The Streamlit suite in headless Chromium: the home page and every app page reached through it.

With ``LEPTON_SCREENSHOTS=1`` the pages are also saved under ``docs/img/`` for the user guides
(``LEPTON_SCREENSHOT_HOME`` may point at a LEPTON_HOME with real trained models, e.g. the demo's ``var``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lepton_shared.app import app_installed
from lepton_shared.manifest import app_names, discover
from lepton_shared.testing.browser import browser_page, streamlit_server, wait_for_app_page, wait_for_streamlit
from lepton_shared.testing.env import lepton_env
from services.ui.home import page_script, titles

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "services" / "ui" / "suite.py"
IMG = ROOT / "docs" / "img"
SCREENSHOTS = os.environ.get("LEPTON_SCREENSHOTS") == "1"
REAL_HOME = os.environ.get("LEPTON_SCREENSHOT_HOME")


def _write_stub(folder: Path) -> None:
    (folder / "w.bin").write_bytes(b"\0")


def _env(home: Path) -> dict[str, str]:
    """The UI process's environment: this home, no service URLs (pages run in-process)."""
    env = {k: v for k, v in os.environ.items() if not re.fullmatch(r"LEPTON_[A-Z]+_URL", k)}
    env.pop("LEPTON_DATABASE_URL", None)
    env["LEPTON_HOME"] = str(Path(REAL_HOME).resolve() if REAL_HOME else home)
    return env


def _shot(page: object, name: str) -> None:
    if SCREENSHOTS:
        IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMG / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _pages() -> list[str]:
    return [app for app in app_names() if app_installed(app) and page_script(app).is_file()]


@pytest.fixture(scope="module")
def home_with_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home where every installed app has a (stand-in) production model with a baseline."""
    from lepton_shared.manifest import get_manifest
    from lepton_shared.registry import Registry

    home = tmp_path_factory.mktemp("suite-ui-models")
    with lepton_env(home):
        for app in app_names():
            if app_installed(app):
                key = get_manifest(app).key_metric
                Registry().register(app, _write_stub,
                                    metrics={key: 0.75, "baselines": {"simple_rule": {key: 0.5}}})
    return home


@pytest.fixture(scope="module")
def empty_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite on a fresh home: no model trained yet anywhere."""
    with streamlit_server(SUITE, env=_env(tmp_path_factory.mktemp("suite-ui-empty"))) as base:
        yield base


def test_home_page_lists_every_app_with_model_and_score(home_with_models: Path) -> None:
    from lepton_shared.testing.example import example_service
    from lepton_shared.testing.server import free_port, serve_app

    installed = [app for app in app_names() if app_installed(app)]
    env = _env(home_with_models)
    if installed:  # one app's service is "up" (any service shell answers /healthz), one is configured but down
        env[f"LEPTON_{installed[0].upper()}_URL"] = "{up}"
    if len(installed) > 1:
        env[f"LEPTON_{installed[1].upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    with lepton_env(home_with_models), serve_app(example_service()) as up:
        env = {k: v.replace("{up}", up) for k, v in env.items()}
        _check_home(env, installed)


def _check_home(env: dict[str, str], installed: list[str]) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # a shared CI machine can be slow
    with streamlit_server(SUITE, env=env) as base, browser_page("suite-home") as page:
        page.goto(base)
        wait_for_streamlit(page)
        page.get_by_role("heading", name="Lepton Suite").wait_for()
        for app, title in titles().items():
            card = page.locator(f".st-key-card-{app}")
            expect(card).to_contain_text(title)  # expect() retries while Streamlit is still rendering
            if app_installed(app) and page_script(app).is_file():
                expect(card).to_contain_text(f"First try: {discover()[app].first_try}")
            if not app_installed(app):
                expect(card).to_contain_text("not part of this build")
            elif not REAL_HOME:
                for text in ("model v1", "0.750", "+0.250 vs simple_rule"):
                    expect(card).to_contain_text(text)
                expected = {0: "service up", 1: "service down"}.get(installed.index(app), "in-process")
                expect(card).to_contain_text(expected)
        page.get_by_role("button", name="Refresh status").click()
        wait_for_streamlit(page)
        expect(page.locator(".st-key-card-fraud")).to_contain_text(titles()["fraud"])
        _shot(page, "suite-home")


@pytest.mark.parametrize("app", app_names())
def test_app_page_opens_from_the_home_page(app: str, empty_suite: str) -> None:
    assert app in _pages(), f"the suite has no page for {app}"
    with browser_page(f"suite-{app}") as page:
        page.goto(empty_suite)
        wait_for_streamlit(page)
        page.get_by_role("link", name=f"Open {titles()[app]}").click()
        page.wait_for_url(re.compile(rf".*/{app}$"))
        wait_for_app_page(page)
        assert page.locator('[data-testid="stMain"]').inner_text().strip(), "the app page rendered nothing"
        # the navigation stays available from an app page
        page.get_by_role("link", name="Home").first.click()
        page.get_by_role("heading", name="Lepton Suite").wait_for()
        if SCREENSHOTS:
            page.goto(f"{empty_suite}/{app}")
            wait_for_app_page(page)
            _shot(page, f"suite-{app}")
