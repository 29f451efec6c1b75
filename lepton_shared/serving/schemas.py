"""What the shell's own routes answer, the error bodies, and the base of every app's response models.

The models give ``/docs`` real schemas and check each answer on its way out. Their base keeps keys it does not
declare (``extra="allow"``): a route that adds a key never has it dropped, so the JSON contract the contract tests
and outside callers rely on stays exactly what the routes build.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field


class ResponseModel(BaseModel):
    """Base of every JSON answer: declared keys are typed and required, others pass through unchanged."""

    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    """Every 4xx and 503 answer: one readable sentence."""

    detail: str


class ValidationErrorBody(BaseModel):
    """A 422: the sentence, and pydantic's errors (non-finite numbers as text)."""

    detail: str
    errors: list[dict[str, Any]] = []


class Prediction(ResponseModel):
    """One answer of ``POST /v1/predict``: the model version and the app's own fields."""

    model_version: str


class Health(ResponseModel):
    """``GET /healthz``: the process answers."""

    status: str = Field(examples=["ok"])


class BatchingInfo(ResponseModel):
    """How a replica micro-batches ``POST /v1/predict`` (see ``BatchOptions``)."""

    enabled: bool
    max_batch: int
    max_wait_ms: float
    workers: int


class Ready(ResponseModel):
    """``GET /readyz`` when ready: the served version, where its model runs (torch apps) and how it batches."""

    status: str = Field(examples=["ready"])
    app: str
    model_version: str
    device: str | None = Field(default=None, description="torch apps only")
    micro_batch: BatchingInfo


class NotReady(ResponseModel):
    """``GET /readyz`` with a 503: why the replica takes no traffic (no model, or no database)."""

    status: str = Field(examples=["unavailable"])
    reason: str


class ModelVersion(ResponseModel):
    """The version a route acted on (``POST /v1/admin/reload``)."""

    model_version: str


class CsvResponse(Response):
    """A CSV download; declared so ``/docs`` shows ``text/csv`` rather than an untyped JSON object."""

    media_type = "text/csv"


#: what each error status means, for a route's ``responses=`` (see :func:`errors`)
ERRORS: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("The request is well-formed but cannot be done as asked", ErrorBody),
    401: ("Missing or invalid bearer token (LEPTON_API_TOKEN)", ErrorBody),
    404: ("What the path or body names does not exist", ErrorBody),
    409: ("The request clashes with what is stored, e.g. an id already used", ErrorBody),
    413: ("Request body larger than LEPTON_MAX_REQUEST_BYTES", ErrorBody),
    422: ("The request does not match the schema", ValidationErrorBody),
    503: ("No model is loaded yet (train and promote one), or the database is unreachable", ErrorBody),
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the error statuses a route gives besides the ones every route documents (401, 413, 422:
    added to the whole document by :mod:`lepton_shared.serving.openapi`)."""
    return {code: {"description": ERRORS[code][0], "model": ERRORS[code][1]} for code in codes}


#: a route that needs the served model: 503 until one is loaded
NEEDS_MODEL = errors(503)
