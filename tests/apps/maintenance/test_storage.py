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
        assert storage.recent_readings("m1", 2) == [{"s_1": 2.0}, {"s_1": 3.0}]
        assert storage.recent_readings("m1", 10) == [{"s_1": 1.0}, {"s_1": 2.0}, {"s_1": 3.0}]
        assert sorted(storage.machine_ids()) == ["m1", "m2"]
