"""``lepton_shared.progress_file``: what a background training reports, and that reporting never fails it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lepton_shared import progress_file


def test_nothing_is_written_without_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress_file.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    progress_file.report("training the nets", 1, 2)
    assert list(tmp_path.iterdir()) == []


def test_the_last_report_is_read_back_and_described(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "app.json"
    monkeypatch.setenv(progress_file.ENV, str(target))
    before = time.time()
    progress_file.report("training the PPO agent", 90_000, 150_000)
    report = progress_file.read(target)
    assert report is not None and report.at >= before
    assert report.percent == 60
    assert report.describe() == "training the PPO agent 60 % (90,000 of 150,000)"
    progress_file.report("comparing the policies")  # another step: written at once, without a count
    report = progress_file.read(target)
    assert report is not None and report.describe() == "comparing the policies" and report.percent is None
    assert [p.name for p in target.parent.iterdir()] == ["app.json"]  # no temporary file left behind


def test_reports_of_one_step_are_thinned_but_the_last_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "app.json"
    monkeypatch.setenv(progress_file.ENV, str(target))
    progress_file.report("epochs", 1, 10)
    progress_file.report("epochs", 2, 10)  # within a second of the first: skipped
    assert (report := progress_file.read(target)) is not None and report.done == 1
    progress_file.report("epochs", 10, 10)  # the end of the step is always written
    assert (report := progress_file.read(target)) is not None and report.done == 10


def test_unreadable_or_unwritable_files_are_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    assert progress_file.read(tmp_path / "bad.json") is None
    assert progress_file.read(tmp_path / "missing.json") is None
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(progress_file.ENV, str(blocker / "app.json"))  # its folder is a file: cannot be written
    progress_file.report("anything", 1, 1)
