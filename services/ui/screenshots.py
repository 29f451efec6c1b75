"""Retake the guides' screenshots (``docs/img/suite-*.png``) from a running suite.

Start the demo first (``make demo``, or ``python -m services.demo``), wait until every app is
ready, then run ``python -m services.ui.screenshots`` (``--url`` if the suite is not on its
default port). The pictures then show what a first-time user sees: the real trained models,
served by the services, not the stand-in models of the browser tests. Chromium is the system's
(``lepton_shared.testing.browser``): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
SETTLE_MS = 3_000  # after the script run ends, charts and images still arrive from the server

def shoot(page: Any, url: str, path: Path, app_page: bool) -> None:
    """Open ``url``, wait until Streamlit has finished drawing it, save a full-page picture."""
    from lepton_shared.manifest import app_names
    from lepton_shared.testing.browser import wait_for_app_page, wait_for_streamlit

    page.goto(url)
    if app_page:
        wait_for_app_page(page, 120_000)
    else:  # the home page draws its cards after asking every service for its status
        for app in app_names():
            page.locator(f".st-key-card-{app}").wait_for(timeout=120_000)
    wait_for_streamlit(page, 120_000)
    page.wait_for_timeout(SETTLE_MS)
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


def picture_names() -> list[str]:
    """``suite-home.png``, then ``suite-<app>.png`` for every app page of this build."""
    from lepton_shared.manifest import app_names
    from services.ui.home import page_script

    return ["suite-home.png", *(f"suite-{app}.png" for app in app_names() if page_script(app).is_file())]


def main(argv: list[str] | None = None) -> int:
    from lepton_shared.testing.browser import browser_page, chromium_available
    from services.demo import check_ui

    parser = argparse.ArgumentParser(prog="python -m services.ui.screenshots",
                                     description="Retake docs/img/suite-*.png from a running suite.")
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the running suite (default %(default)s)")
    parser.add_argument("--out", type=Path, default=IMG, help="folder of the pictures (default docs/img)")
    args = parser.parse_args(argv)
    if not chromium_available():
        print("error: no Chromium at /usr/bin/chromium (set LEPTON_CHROMIUM)", file=sys.stderr)
        return 2
    base = args.url.rstrip("/")
    # checked before Chromium starts: a suite that is not running is one line, not a browser timeout minutes later
    if not check_ui(base).live:
        print(f"error: no Streamlit suite answers at {base} (start `make demo` first, or pass --url)",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with browser_page("screenshots") as page:
        for name in picture_names():
            app = name.removeprefix("suite-").removesuffix(".png")
            url = base if app == "home" else f"{base}/{app}"
            shoot(page, url, args.out / name, app_page=app != "home")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
