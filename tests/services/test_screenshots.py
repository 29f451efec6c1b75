"""The screenshot tool of the guides (``services.ui.screenshots``); the pictures themselves need a running demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.ui import screenshots

ROOT = Path(__file__).resolve().parents[2]


def test_every_picture_the_docs_show_is_one_the_tool_retakes() -> None:
    shown = {name for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
             for name in re.findall(r"img/(suite-[a-z]+\.png)", doc.read_text())}
    assert shown, "the guides show no suite screenshot"
    assert shown <= set(screenshots.picture_names())


def test_without_chromium_it_fails_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import lepton_shared.testing.browser as browser

    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    assert screenshots.main(["--out", str(tmp_path / "img")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "img").exists()


def test_without_a_running_suite_it_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lepton_shared.testing.browser import chromium_available
    from lepton_shared.testing.server import free_port

    if not chromium_available():
        pytest.skip("needs /usr/bin/chromium to get past the Chromium check")
    url = f"http://127.0.0.1:{free_port()}"
    assert screenshots.main(["--url", url, "--out", str(tmp_path / "img")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and url in err
    assert not (tmp_path / "img").exists()
