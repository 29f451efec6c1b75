"""The least any Python HTTP service costs on this machine: FastAPI under uvicorn, no model, no database.

``lepton perf serve`` times it with the same client and payloads as the app's service, so the service's
overhead over the in-process predictor can be read against it. Its route does what every Lepton route
does before the model runs: parse the JSON body, hop to a worker thread, serialise a small answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI
from starlette.concurrency import run_in_threadpool

app = FastAPI()
ANSWER = {"label": "floor", "confidence": 1.0, "model_version": "floor"}


def _answer() -> dict[str, Any]:
    return dict(ANSWER)


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/v1/predict")
async def predict(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    return await run_in_threadpool(_answer)
