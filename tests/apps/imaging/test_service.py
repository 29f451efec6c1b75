"""The HTTP API over real loopback: diagnose, worklist, review, report, and bad uploads."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from apps.imaging.synthetic import synth_image, write_dicom, write_nifti, write_png
from lepton_shared.testing.server import serve_app


@pytest.fixture(scope="module")
def service(trained_home: tuple[Path, Any]) -> Iterator[str]:
    from apps.imaging.app import APP

    with serve_app(APP.create_service()) as base:
        yield base


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("uploads")
    image = synth_image(1, np.random.default_rng(11), 64)
    write_png(image, folder / "a.png")
    write_dicom(image, folder / "a.dcm", patient_id="PAT-SECRET-9", study_uid="1.2.840.99")
    write_nifti(image, folder / "a.nii.gz", depth=3)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("name", ["a.png", "a.dcm", "a.nii.gz"])
def test_diagnose_each_format(service: str, files: dict[str, bytes], trained_home: tuple[Path, Any],
                              name: str) -> None:
    resp = httpx.post(f"{service}/v1/diagnose", files={"file": (name, files[name])}, timeout=60)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["model_version"] == trained_home[1].version
    assert body["label"] in body["probabilities"]
    assert base64.b64decode(body["heatmap_png_base64"])[:4] == b"\x89PNG"
    assert isinstance(body["study_id"], int)
    study = httpx.get(f"{service}/v1/studies/{body['study_id']}").json()
    assert study["input_sha256"] == body["input_sha256"] and study["review_status"] == "pending"


def test_dicom_identifiers_are_hashed_everywhere(service: str, files: dict[str, bytes]) -> None:
    body = httpx.post(f"{service}/v1/diagnose", files={"file": ("a.dcm", files["a.dcm"])}, timeout=60).json()
    assert body["study_uid"] == "1.2.840.99" and body["patient_hash"]
    from sqlalchemy import select

    from lepton_shared.storage import PredictionLog, session_scope

    with session_scope() as session:
        logged = [str(r.output) for r in session.scalars(select(PredictionLog))]
    assert logged and not any("PAT-SECRET-9" in text for text in logged)
    assert "PAT-SECRET-9" not in httpx.get(f"{service}/v1/studies").text


def test_predict_matches_diagnose_probabilities(service: str, files: dict[str, bytes]) -> None:
    encoded = base64.b64encode(files["a.png"]).decode()
    pred = httpx.post(f"{service}/v1/predict", json={"image_base64": encoded, "filename": "a.png"}, timeout=60).json()
    diag = httpx.post(f"{service}/v1/diagnose", files={"file": ("a.png", files["a.png"])}, timeout=60).json()
    assert "heatmap_png_base64" not in pred
    assert pred["probabilities"] == diag["probabilities"] and pred["label"] == diag["label"]


@pytest.mark.parametrize(("name", "content", "status", "words"), [
    ("scan.png", b"\x89PNG\r\n\x1a\n-truncated", 400, "PNG"),
    ("scan.dcm", b"\0" * 128 + b"DICM" + b"\x02\x00" * 10, 400, "DICOM"),
    ("notes.txt", b"hello, this is text", 400, "unsupported"),
    ("empty.png", b"", 400, "empty"),
])
def test_bad_uploads_get_4xx_with_message(service: str, name: str, content: bytes, status: int, words: str) -> None:
    resp = httpx.post(f"{service}/v1/diagnose", files={"file": (name, content)}, timeout=60)
    assert resp.status_code == status, resp.text
    assert words in resp.json()["detail"]


def test_missing_file_field_and_bad_base64(service: str) -> None:
    resp = httpx.post(f"{service}/v1/diagnose", data={"slice_index": "1"}, timeout=30)
    assert resp.status_code == 422 and "file" in resp.json()["detail"]
    resp = httpx.post(f"{service}/v1/predict", json={"image_base64": "@@not base64@@"}, timeout=30)
    assert resp.status_code == 400 and "base64" in resp.json()["detail"]


def test_oversized_upload_is_413(service: str) -> None:
    from lepton_shared.settings import get_settings

    big = b"\x89PNG\r\n\x1a\n" + b"0" * get_settings().max_request_bytes
    resp = httpx.post(f"{service}/v1/diagnose", files={"file": ("big.png", big)}, timeout=60)
    assert resp.status_code == 413


def test_review_flow_and_report(service: str, files: dict[str, bytes]) -> None:
    body = httpx.post(f"{service}/v1/diagnose", files={"file": ("a.png", files["a.png"])}, timeout=60).json()
    sid = body["study_id"]
    other = next(k for k in body["probabilities"] if k != body["label"])
    resp = httpx.post(f"{service}/v1/studies/{sid}/review",
                      json={"reviewer": "Dr. Grey", "confirmed": False, "label": other, "note": "second read"})
    assert resp.status_code == 200 and resp.json()["review_status"] == "corrected"
    corrected = httpx.get(f"{service}/v1/studies", params={"status": "corrected"}).json()
    assert sid in [s["id"] for s in corrected]
    report = httpx.get(f"{service}/v1/studies/{sid}/report")
    assert report.status_code == 200 and "Dr. Grey" in report.text and "text/html" in report.headers["content-type"]
    bad = httpx.post(f"{service}/v1/studies/{sid}/review", json={"reviewer": "x", "confirmed": False,
                                                                 "label": "unknown-label"})
    assert bad.status_code == 400 and "unknown label" in bad.json()["detail"]
    assert httpx.post(f"{service}/v1/studies/999999/review",
                      json={"reviewer": "x", "confirmed": True}).status_code == 404
    assert httpx.get(f"{service}/v1/studies", params={"status": "weird"}).status_code == 400
