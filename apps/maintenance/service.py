"""HTTP endpoints: append readings per machine, assess one machine, rank the fleet."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from apps.maintenance.predictor import MAX_READINGS, MaintenancePredictor
from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.registry import Registry
from lepton_shared.serving import Predictor, create_app, get_predictor, log_prediction
from lepton_shared.storage import session_scope

router = APIRouter(prefix="/v1", tags=["maintenance"])
HISTORY = 200  # readings kept in view per assessment


class ReadingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[dict[str, float]] = Field(min_length=1, max_length=MAX_READINGS)


def _history(machine_id: str) -> pd.DataFrame:
    from apps.maintenance.storage import MaintenanceReading

    with session_scope() as session:
        rows = session.scalars(select(MaintenanceReading).where(MaintenanceReading.machine_id == machine_id)
                               .order_by(MaintenanceReading.seq.desc()).limit(HISTORY)).all()
        values = [r.values for r in reversed(rows)]
    if not values:
        raise NotFoundError(f"machine {machine_id!r} has no readings yet: POST /v1/machines/{machine_id}/readings")
    frame = pd.DataFrame(values)
    frame["unit"] = machine_id
    return frame


@router.post("/machines/{machine_id}/readings")
def add_readings(machine_id: str, body: ReadingsBody) -> dict[str, Any]:
    """Append readings (oldest first) to a machine's history; all or nothing."""
    from apps.maintenance.storage import MaintenanceReading

    if not machine_id.strip() or len(machine_id) > 64:
        raise UserError("machine id must be 1-64 characters")
    with session_scope() as session:
        last = session.scalar(select(func.max(MaintenanceReading.seq))
                              .where(MaintenanceReading.machine_id == machine_id)) or 0
        for i, values in enumerate(body.readings, start=1):
            session.add(MaintenanceReading(machine_id=machine_id, seq=last + i, values=values))
    return {"machine_id": machine_id, "stored": len(body.readings), "total": last + len(body.readings)}


@router.get("/machines/{machine_id}")
def machine(machine_id: str, request: Request, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """RUL with band, recommended action and expected cost of acting now vs waiting."""
    assert isinstance(predictor, MaintenancePredictor)
    start = time.perf_counter()
    out = {"machine_id": machine_id, **predictor.assess(_history(machine_id))}
    log_prediction(request, out, {"machine_id": machine_id}, (time.perf_counter() - start) * 1000)
    return out


@router.get("/fleet")
def fleet(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Every machine with readings, most urgent (lowest RUL band) first."""
    from apps.maintenance.storage import MaintenanceReading

    assert isinstance(predictor, MaintenancePredictor)
    with session_scope() as session:
        ids = list(session.scalars(select(MaintenanceReading.machine_id).distinct()))
    machines = []
    for mid in ids:
        try:
            machines.append({"machine_id": mid, **predictor.assess(_history(mid))})
        except UserError as exc:
            machines.append({"machine_id": mid, "error": str(exc)})
    machines.sort(key=lambda m: m.get("rul_low", float("inf")))
    return {"machines": machines, "model_version": predictor.version}


def create_service() -> FastAPI:
    return create_app("maintenance", predictor_loader=lambda: MaintenancePredictor(Registry().get("maintenance")),
                      routers=[router], title="Lepton maintenance service",
                      description="Remaining-useful-life estimates and maintenance recommendations.")
