"""HTTP endpoints: diagnose an uploaded study, list the worklist, record a review, fetch a report."""

from __future__ import annotations

import base64
import time
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from apps.imaging.report import study_report_html
from apps.imaging.schemas import Diagnosis, ModelInfo, ReviewIn, Study
from apps.imaging.storage import get_study, list_studies, record_study, review_study
from lepton_shared.serving import DbId, Predictor, create_app, get_predictor, log_prediction
from lepton_shared.serving.schemas import errors
from lepton_shared.settings import get_settings

router = APIRouter(prefix="/v1", tags=["imaging"])
#: what ``/v1/model`` passes on of the version's metrics about its calibration
CALIBRATION_METRICS = ("ece", "ece_ci95", "ece_uncalibrated", "ece_uncalibrated_ci95", "reliability")


@router.get("/model", response_model=ModelInfo, response_model_exclude_unset=True, responses=errors(503))
def model(predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """The serving model: version, class names, operating threshold, input size and its calibration on the
    held-out split it was trained with (method, ECE with its 95 % interval, reliability points) for the UI."""
    cfg = predictor.cfg  # type: ignore[attr-defined]
    device = getattr(predictor, "device", None)
    metrics = getattr(getattr(predictor, "info", None), "metrics", None) or {}
    calibration = {"method": cfg.calibrator().method,
                   **{k: metrics[k] for k in CALIBRATION_METRICS if k in metrics}}
    return {"model_version": predictor.version, "class_names": list(cfg.class_names),
            "threshold": float(cfg.threshold), "image_size": int(cfg.image_size), "calibration": calibration,
            **({"device": str(device)} if device is not None else {})}


@router.post("/diagnose", response_model=Diagnosis, responses=errors(400, 413, 503))
def diagnose(request: Request, file: UploadFile = File(..., description="PNG, JPEG, DICOM or NIfTI file"),
             slice_index: int | None = Form(default=None, ge=0, description="NIfTI volume slice (default middle)"),
             predictor: Predictor = Depends(get_predictor)) -> dict[str, Any]:
    """Label, calibrated probabilities, threshold, Grad-CAM overlay (PNG base64); stores an audit row."""
    limit = get_settings().max_request_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=f"upload too large: limit {limit} bytes")
    start = time.perf_counter()
    result = predictor.diagnose(data, file.filename or "upload", slice_index)  # type: ignore[attr-defined]
    study = record_study(result)
    result["study_id"] = study["id"]
    elapsed = (time.perf_counter() - start) * 1000
    logged = {k: v for k, v in result.items() if k != "heatmap_png_base64"}
    upload = {"image_base64": base64.b64encode(data).decode("ascii"), "filename": file.filename or "upload",
              "slice_index": slice_index} if get_settings().log_inputs else None  # a /v1/predict body, to replay
    log_prediction(request, logged, data, elapsed, model_input=upload)
    return result


@router.get("/studies", response_model=list[Study], responses=errors(400))
def studies(status: str | None = Query(default=None, description="pending, confirmed or corrected"),
            limit: int = Query(default=100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """The worklist, newest first."""
    return list_studies(status, limit)


@router.get("/studies/{study_id}", response_model=Study, responses=errors(404))
def study(study_id: DbId) -> dict[str, Any]:
    return get_study(study_id)


@router.post("/studies/{study_id}/review", response_model=Study, responses=errors(400, 404))
def review(study_id: DbId, body: ReviewIn) -> dict[str, Any]:
    """Record the reviewer's confirmation or correction."""
    return review_study(study_id, body.reviewer, body.confirmed, body.label, body.note)


@router.get("/studies/{study_id}/report", response_class=HTMLResponse, responses=errors(404))
def report(study_id: DbId) -> HTMLResponse:
    """The study's HTML report (no pixels are stored, so no heat map here)."""
    return HTMLResponse(study_report_html(get_study(study_id)))


def create_service() -> FastAPI:
    from apps.imaging.app import APP
    from apps.imaging.manifest import MANIFEST

    # micro-batching of /v1/predict on by default (one forward pass answers a batch; LEPTON_MICRO_BATCH overrides)
    from apps.imaging.predictor import ImagingPredictor

    return create_app("imaging", predictor_loader=lambda: APP.load_predictor(), routers=[router],
                      input_model=ImagingPredictor.InputModel,
                      micro_batch=MANIFEST.micro_batch, title="Lepton imaging service",
                      description="Medical image diagnosis: calibrated probabilities, Grad-CAM heat maps, "
                                  "and an audit trail of studies and reviews.")
