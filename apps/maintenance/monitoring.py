"""What maintenance monitoring watches: how many readings a request sends and the sensor values of its latest
reading (a recalibrated or failing sensor moves them), and the estimated remaining useful life."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lepton_shared.monitoring import AppMonitor
from lepton_shared.monitoring.profile import is_number


class MaintenanceMonitor(AppMonitor):
    endpoints = ("/v1/predict",)

    def features(self, inputs: Any, output: Mapping[str, Any]) -> dict[str, Any] | None:
        readings = inputs.get("readings") if isinstance(inputs, Mapping) else None
        if not readings or not isinstance(readings[-1], Mapping):
            return None
        latest = {f"last_{k}": float(v) for k, v in readings[-1].items() if is_number(v)}
        return {"readings": len(readings), **latest}

    def prediction(self, output: Mapping[str, Any]) -> Any:
        return output.get("rul")


MONITOR_CLASS = MaintenanceMonitor
