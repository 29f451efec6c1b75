"""Readings per machine: appended in order, read back newest-last, listed per machine."""

from __future__ import annotations

from pathlib import Path

from apps.maintenance import storage
from lepton_shared.testing.env import lepton_env


def test_readings_append_in_order_and_read_back_the_newest(tmp_path: Path) -> None:
    with lepton_env(tmp_path):
        assert storage.machine_ids() == [] and storage.recent_readings("m1", 10) == []
        assert storage.add_readings("m1", [{"s_1": 1.0}, {"s_1": 2.0}]) == 2
        assert storage.add_readings("m1", [{"s_1": 3.0}]) == 3
        assert storage.add_readings("m2", [{"s_1": 9.0}]) == 1
        assert storage.recent_readings("m1", 2) == [(2, {"s_1": 2.0}), (3, {"s_1": 3.0})]
        assert storage.recent_readings("m1", 10) == [(1, {"s_1": 1.0}), (2, {"s_1": 2.0}), (3, {"s_1": 3.0})]
        assert sorted(storage.machine_ids()) == ["m1", "m2"]


def test_a_failure_is_recorded_once_and_read_back_in_order(tmp_path: Path) -> None:
    with lepton_env(tmp_path):
        assert storage.failures() == {} and storage.reading_count("m1") == 0
        storage.add_readings("m1", [{"s_1": float(i)} for i in range(30)])
        assert storage.reading_count("m1") == 30
        assert storage.record_failure("m1", 30) is True
        assert storage.record_failure("m1", 30) is False  # reported twice: still one failure
        assert storage.record_failure("m1", 12) is True
        assert storage.failures() == {"m1": [12, 30]}
