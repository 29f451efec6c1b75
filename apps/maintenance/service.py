"""HTTP endpoints: readings per machine, one machine's assessment and history, the fleet, the policy comparison."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, FastAPI, Request

from apps.maintenance import storage
from apps.maintenance.predictor import MaintenancePredictor
from apps.maintenance.schemas import (
    AdvanceBody,
    Assessment,
    CompareBody,
    Compared,
    DemoFleet,
    DemoFleetAdvanced,
    FailureBody,
    FailureRecorded,
    Fleet,
    History,
    Policies,
    ReadingsBody,
    Stored,
)
from lepton_shared.errors import NotFoundError, UserError
from lepton_shared.registry import Registry
from lepton_shared.serving import Predictor, create_app, get_predictor, log_prediction
from lepton_shared.serving.schemas import NEEDS_MODEL, errors

router = APIRouter(prefix="/v1", tags=["maintenance"])
HISTORY = 200  # readings kept in view per assessment
CHART_SENSORS = 6  # sensors a machine's history shows


def _maintenance(predictor: Predictor) -> MaintenancePredictor:
    assert isinstance(predictor, MaintenancePredictor)
    return predictor


def _history(machine_id: str) -> tuple[pd.DataFrame, list[int]]:
    """The readings in view as the model reads them, and their reading numbers."""
    rows = storage.recent_readings(machine_id, HISTORY)
    if not rows:
        raise NotFoundError(f"machine {machine_id!r} has no readings yet: POST /v1/machines/{machine_id}/readings")
    frame = pd.DataFrame([values for _, values in rows])
    frame["unit"] = machine_id
    return frame, [seq for seq, _ in rows]


def _readings(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, float]]:
    return [{c: float(v) for c, v in zip(columns, row, strict=True)} for row in frame[columns].to_numpy()]


def _store(machine_id: str, readings: list[dict[str, float]]) -> dict[str, Any]:
    if not machine_id.strip() or len(machine_id) > 64:
        raise UserError("machine id must be 1-64 characters")
    return {"machine_id": machine_id, "stored": len(readings), "total": storage.add_readings(machine_id, readings)}


@router.post("/machines/{machine_id}/readings", response_model=Stored, responses=errors(400))
def add_readings(machine_id: str, body: ReadingsBody) -> dict[str, Any]:
    """Append readings (oldest first) to a machine's history; all or nothing."""
    return _store(machine_id, body.readings)


@router.get("/machines/{machine_id}", response_model=Assessment, responses=errors(400, 404, 503))
def machine(machine_id: str, request: Request, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """RUL with band, recommended action and expected cost of acting now vs waiting."""
    start = time.perf_counter()
    frame, readings = _history(machine_id)
    out = {"machine_id": machine_id, **_maintenance(predictor).assess(frame), "reading": readings[-1]}
    log_prediction(request, out, {"machine_id": machine_id}, (time.perf_counter() - start) * 1000)
    return out


@router.post("/machines/{machine_id}/failure", response_model=FailureRecorded, responses=errors(400, 404))
def report_failure(machine_id: str, body: FailureBody) -> FailureRecorded:
    """Record that a machine failed (at its newest reading unless ``at_reading`` says): the label of the
    estimates the service gave it before, which ``lepton monitor maintenance`` scores as live quality."""
    count = storage.reading_count(machine_id)
    if count == 0:
        raise NotFoundError(f"machine {machine_id!r} has no readings: a failure is recorded against its readings")
    at = body.at_reading or count
    if at > count:
        raise UserError(f"machine {machine_id!r} has {count} readings: it cannot have failed at reading {at}")
    return FailureRecorded(machine_id=machine_id, at_reading=at, new=storage.record_failure(machine_id, at))


@router.get("/machines/{machine_id}/history", response_model=History, responses=errors(400, 404, 503))
def machine_history(machine_id: str, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The readings in view (oldest first) of the model's first sensors, and the RUL band at each of them."""
    model = _maintenance(predictor)
    frame, readings = _history(machine_id)
    sensors = [c for c in model.spec.columns if c in frame.columns][:CHART_SENSORS]
    return {"machine_id": machine_id, "reading": readings,
            "sensors": {c: frame[c].round(4).tolist() for c in sensors}, **model.trace(frame),
            "model_version": model.version}


@router.get("/fleet", response_model=Fleet, responses=NEEDS_MODEL)
def fleet(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Every machine with readings, most urgent (lowest RUL band) first."""
    model = _maintenance(predictor)
    machines = []
    for mid in storage.machine_ids():
        try:
            frame, readings = _history(mid)
            machines.append({"machine_id": mid, **model.assess(frame), "reading": readings[-1]})
        except UserError as exc:
            machines.append({"machine_id": mid, "error": str(exc)})
    machines.sort(key=lambda m: m.get("rul_low", float("inf")))
    return {"machines": machines, "model_version": model.version}


@router.post("/fleet/demo", response_model=DemoFleet)
def add_demo_fleet() -> DemoFleet:
    """Readings of six simulated machines part-way through their lives (``M1`` … ``M6``); machines that already
    have readings are left as they are."""
    from apps.maintenance.data import demo_fleet, demo_machine_id, reading_columns

    frame = demo_fleet()
    columns = reading_columns(frame)
    known = set(storage.machine_ids())
    added = []
    for unit, group in frame.groupby("unit"):
        machine_id = demo_machine_id(unit)
        if machine_id not in known:
            _store(machine_id, _readings(group, columns))
            added.append(machine_id)
    return DemoFleet(added=added)


@router.post("/fleet/demo/advance", response_model=DemoFleetAdvanced, responses=errors(404))
def advance_demo_fleet(body: AdvanceBody) -> DemoFleetAdvanced:
    """Run the simulated machines on: each sends its next ``cycles`` readings from the simulator, so the fleet's
    ranking changes as they wear, whether the page runs in-process or calls this service. A machine at the end
    of its life (it failed in the simulation) sends nothing more, and its failure is recorded as a real one would
    be (``POST /v1/machines/{id}/failure``); machines not from the simulation are untouched."""
    from apps.maintenance.data import demo_lives, demo_machine_id, reading_columns

    lives = demo_lives()
    columns = reading_columns(lives)
    sent = storage.reading_counts()
    advanced: dict[str, int] = {}
    failed = []
    for unit, life in lives.groupby("unit"):
        machine_id = demo_machine_id(unit)
        if machine_id not in sent:
            continue
        upcoming = life.iloc[sent[machine_id]:sent[machine_id] + body.cycles]
        if upcoming.empty:
            failed.append(machine_id)
            storage.record_failure(machine_id, sent[machine_id])
            continue
        _store(machine_id, _readings(upcoming, columns))
        advanced[machine_id] = len(upcoming)
    if not advanced and not failed:
        raise NotFoundError("no simulated machine in the fleet: add them first (POST /v1/fleet/demo)")
    return DemoFleetAdvanced(advanced=advanced, failed=failed)


@router.get("/policies", response_model=Policies, responses=NEEDS_MODEL)
def policies(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The policy comparison measured when the model was trained, the costs it was trained for, and the policy the
    version acts with (``policy.fallback``: the agent lost to a tuned rule on the tuning seeds)."""
    from apps.maintenance.policies import policy_rows

    bundle = _maintenance(predictor).bundle
    metrics = bundle.info.metrics
    replay = metrics.get("policies_cmapss_replay")
    return {"model_version": predictor.version, "costs": bundle.costs.as_dict(), "policy": bundle.choice,
            "simulator": {"policies": policy_rows(metrics["policies"]),
                          "rl_saving_vs_best_baseline": metrics["rl_saving_vs_best_baseline"]},
            "replay": None if not replay else {"policies": policy_rows(replay), "setup": replay["setup"],
                                               "rl_saving_vs_best_baseline": replay["rl_saving_vs_best_baseline"]}}


@router.post("/policies/compare", response_model=Compared, responses=errors(400, 503))
def compare(body: CompareBody, predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Every policy on held-out simulated machines under other costs, the baselines re-tuned for them (quick grids;
    the RL agent stays the one trained for the saved costs). Takes a while: seconds per episode and policy."""
    from apps.maintenance.policies import rl_saving
    from apps.maintenance.training import compare_policies

    bundle = _maintenance(predictor).bundle
    costs = bundle.costs.with_overrides(**body.costs)
    result = compare_policies(bundle.policy_rul, bundle.ppo, bundle.baselines, costs, episodes=body.episodes,
                              retune=True, quick=True)
    return {"model_version": predictor.version, "costs": costs.as_dict(), "policies": result,
            "rl_saving_vs_best_baseline": rl_saving(result)}


def create_service() -> FastAPI:
    return create_app("maintenance", predictor_loader=lambda: MaintenancePredictor(Registry().get("maintenance")),
                      routers=[router], title="Lepton maintenance service", input_model=MaintenancePredictor.InputModel,
                      description="Remaining-useful-life estimates and maintenance recommendations.")
