"""What maintenance monitoring watches: how many readings a request sends and the sensor values of its latest
reading (a recalibrated or failing sensor moves them), and the estimated remaining useful life.

Training stores the reference profile from requests drawn from its fleet (``training.reference_requests``).

Live quality: a failure reported for a stored machine (``POST /v1/machines/{id}/failure``; the simulated fleet
reports its own) labels the estimates the service gave that machine before (``GET /v1/machines/{id}``, which
logs the reading it assessed): the true remaining life at reading ``r`` is the failure's reading minus ``r``.
``rmse`` and ``mae`` are in cycles; ``overestimated_share`` is the share of estimates above the truth, the
dangerous side (a machine run past its end). ``/v1/predict`` answers carry no machine, so no label; a shadow
replay compares the recommended actions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lepton_shared.monitoring import AppMonitor
from lepton_shared.monitoring.profile import is_number

ASSESSMENTS = ("/v1/machines/",)
"""Where a stored machine's estimates come from (logged with the reading they assessed)."""


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

    def live_quality(self, since: datetime, database_url: str | None = None) -> dict[str, Any] | None:
        """The stored machines' estimates given since ``since``, against the failures reported for them."""
        from apps.maintenance.storage import failures
        from lepton_shared.monitoring.answers import LIVE_QUALITY_ANSWERS, logged_answers

        failed = failures(database_url)
        if not failed:
            return None
        rows = logged_answers("maintenance", ASSESSMENTS, since, LIVE_QUALITY_ANSWERS, database_url)
        errors, machines = [], set()
        for output in (r.output for r in rows):
            machine, reading, rul = output.get("machine_id"), output.get("reading"), output.get("rul")
            failure = next((at for at in failed.get(str(machine), ()) if reading is not None and at >= reading), None)
            if failure is None or not is_number(rul):
                continue
            errors.append(float(rul) - (failure - int(reading)))
            machines.add(machine)
        if not errors:
            return None
        return {"estimates": len(errors), "machines": len(machines),
                "rmse": round(math.sqrt(sum(e * e for e in errors) / len(errors)), 2),
                "mae": round(sum(abs(e) for e in errors) / len(errors), 2),
                "overestimated_share": round(sum(e > 0 for e in errors) / len(errors), 4)}


MONITOR_CLASS = MaintenanceMonitor
