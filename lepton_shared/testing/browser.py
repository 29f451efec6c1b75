"""Drive a Streamlit page in Debian's headless Chromium with Playwright.

Never downloads a browser: ``executable_path`` points at ``/usr/bin/chromium``
(override with ``LEPTON_CHROMIUM``). A failing step saves a screenshot into
``test-artifacts/`` (override with ``LEPTON_ARTIFACTS``).
"""

from __future__ import annotations

import os
import sys
import time
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


#: Messages each open page has sent to its Streamlit server (``id(page)`` -> one counter), see ``click_widget``.
_FRAMES_SENT: dict[int, list[int]] = {}


@contextmanager
def browser_page(name: str) -> Iterator[Any]:
    """A Playwright page; on an exception a screenshot ``<name>.png`` is kept."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        sent = _FRAMES_SENT[id(page)] = [0]
        page.on("websocket", lambda ws: ws.on("framesent", lambda _payload: sent.__setitem__(0, sent[0] + 1)))
        try:
            yield page
        except BaseException:
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}-failure.png"), full_page=True)
                print(f"--- {name}: the page's text when the test failed ---\n{page_text(page)}")
            finally:
                raise
        finally:
            _FRAMES_SENT.pop(id(page), None)
            browser.close()


def click_widget(page: Any, locator: Any, tries: int = 3, wait_ms: int = 5_000) -> None:
    """Click a Streamlit widget of a :func:`browser_page` and make sure the click reached the server.

    Headless Chromium now and then drops a click on a button of a just-opened expander: no message leaves
    the page and the test waits in vain (the fraud review queue's "Mark fraud", about one run in four on a
    busy machine). A click that sent nothing is repeated; one that sent a message never is, so no action is
    done twice."""
    sent = _FRAMES_SENT.get(id(page))
    if sent is None:
        locator.click()
        return
    for _ in range(tries):
        before = sent[0]
        locator.click()
        deadline = time.monotonic() + wait_ms / 1000
        while time.monotonic() < deadline:
            if sent[0] > before:
                return
            page.wait_for_timeout(100)  # lets Playwright deliver the page's events
    raise AssertionError(f"{tries} clicks on {locator} sent nothing to the Streamlit server")


def page_text(page: Any, limit: int = 6000) -> str:
    """The visible text of the page's main area and its open expanders: what a failed test's report shows, since
    CI keeps no screenshot."""
    try:
        text = page.locator('[data-testid="stMain"]').first.inner_text(timeout=5_000)
    except Exception as exc:  # a diagnostic must not hide the test's own failure
        return f"(no text: {exc})"
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


#: True once Streamlit's "running" status widget has stayed away for ``settle`` ms: a run that starts a moment
#: after a click, or a second run right after the first, is not taken for the end of the work.
SETTLED = """(settle) => {
    const now = Date.now();
    if (document.querySelector('[data-testid="stStatusWidget"]')) { window.__leptonIdleSince = null; return false; }
    if (!window.__leptonIdleSince) window.__leptonIdleSince = now;
    return now - window.__leptonIdleSince >= settle;
}"""


def wait_for_streamlit(page: Any, timeout_ms: int = 90_000, settle_ms: int = 1_000) -> None:
    """Wait until the script run finished, and no new one began within ``settle_ms``; fail if Streamlit shows
    an exception.

    The settling matters because a run may start only a moment after the click that caused it: without it, a
    wait right after a click could end before that run began."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.evaluate("() => { window.__leptonIdleSince = null; }")
    page.wait_for_function(SETTLED, arg=settle_ms, timeout=timeout_ms, polling=100)
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
