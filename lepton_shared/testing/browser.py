"""Drive a Streamlit page in Debian's headless Chromium with Playwright.

Never downloads a browser: ``executable_path`` points at ``/usr/bin/chromium``
(override with ``LEPTON_CHROMIUM``). A failing step saves a screenshot into
``test-artifacts/`` (override with ``LEPTON_ARTIFACTS``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lepton_shared.testing.server import free_port, serve_process

CHROMIUM = os.environ.get("LEPTON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("LEPTON_ARTIFACTS", "test-artifacts"))


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


@contextmanager
def streamlit_server(script: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    base = f"http://127.0.0.1:{port}"
    with serve_process(cmd, f"{base}/_stcore/health", env={**os.environ, **(env or {})}, timeout=120):
        yield base


@contextmanager
def browser_page(name: str) -> Iterator[Any]:
    """A Playwright page; on an exception a screenshot ``<name>.png`` is kept."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            yield page
        except BaseException:
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
            finally:
                raise
        finally:
            browser.close()


def wait_for_streamlit(page: Any, timeout_ms: int = 90_000) -> None:
    """Wait until the script run finished and fail if Streamlit shows an exception."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        raise AssertionError(f"Streamlit page raised: {exceptions.first.inner_text()[:2000]}")


#: True once an app page's script has drawn its title (or failed): the suite home page's title is gone from the
#: main area and another one is there. Until then Streamlit may not have started the page's run at all.
APP_PAGE_DRAWN = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    if (!main) return false;
    if (main.querySelector('[data-testid="stException"]')) return true;
    const titles = [...main.querySelectorAll('h1')].map(h => h.innerText.trim());
    return titles.length > 0 && !titles.includes('Lepton Suite');
}"""


def wait_for_app_page(page: Any, timeout_ms: int = 90_000) -> None:
    """Wait until an app page has replaced the suite's home page and its script run has finished."""
    page.wait_for_function(APP_PAGE_DRAWN, timeout=timeout_ms)
    wait_for_streamlit(page, timeout_ms)
