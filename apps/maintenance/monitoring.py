"""What maintenance monitoring watches: how many readings a request sends and the sensor values of its latest
reading (a recalibrated or failing sensor moves them), and the estimated remaining useful life.

Training stores the reference profile from requests drawn from its fleet (``training.reference_requests``).
There is no live quality: the service is never told when a machine failed or was serviced (its database keeps
readings only), so there is no label to join; a shadow replay compares the recommended actions."""

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

    def answer(self, output: Mapping[str, Any]) -> Any:
        return output.get("recommended_action")


MONITOR_CLASS = MaintenanceMonitor
