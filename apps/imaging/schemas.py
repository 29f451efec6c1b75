"""The imaging service's request and response bodies (``service.py`` holds the routes).

Response models declare every key a route builds (``ResponseModel`` lets any other through, so none is lost)."""

from __future__ import annotations

from pydantic import Field

from lepton_shared.serving import RequestModel
from lepton_shared.serving.schemas import ResponseModel


class ReviewIn(RequestModel):
    reviewer: str = Field(min_length=1, max_length=128, description="who reviewed the study")
    confirmed: bool = Field(description="true: the model's label is right; false: give the correct label")
    label: str | None = Field(default=None, max_length=64, description="the correct label when not confirmed")
    note: str | None = Field(default=None, max_length=2000)


class Calibration(ResponseModel):
    """How the probabilities were calibrated, with the version's ECE and reliability points when measured."""

    method: str


class ModelInfo(ResponseModel):
    """The serving model: version, classes, operating threshold, input size and calibration."""

    model_version: str
    class_names: list[str]
    threshold: float
    image_size: int
    calibration: Calibration
    device: str | None = Field(default=None, description="where the model runs (absent for a model without one)")


class Diagnosis(ResponseModel):
    """A study's label and calibrated probabilities, a Grad-CAM overlay, and the id of its audit row."""

    label: str
    probabilities: dict[str, float]
    positive_probability: float
    threshold: float
    model_version: str
    heatmap_png_base64: str = Field(description="the image with the Grad-CAM heat map over it (PNG, base64)")
    input_sha256: str
    format: str
    study_uid: str | None
    series_uid: str | None
    patient_hash: str | None
    study_id: int


class Study(ResponseModel):
    """One diagnosed study in the audit trail, with its review."""

    id: int
    created_at: str | None
    model_version: str
    input_sha256: str
    format: str
    study_uid: str | None
    series_uid: str | None
    patient_hash: str | None
    label: str
    positive_probability: float
    probabilities: dict[str, float]
    threshold: float
    review_status: str = Field(description="pending | confirmed | corrected")
    reviewer: str | None
    reviewed_label: str | None
    review_note: str | None
    reviewed_at: str | None
