"""The HTTP API over real loopback: diagnose, worklist, review, report, and bad uploads."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from apps.imaging.data import synth_image, write_dicom, write_nifti, write_png
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


def test_model_route_describes_the_serving_model(service: str, files: dict[str, bytes],
                                                  trained_home: tuple[Path, Any]) -> None:
    body = httpx.get(f"{service}/v1/model", timeout=60).json()
    assert body["model_version"] == trained_home[1].version
    assert len(body["class_names"]) == 2 and 0.0 < body["threshold"] < 1.0
    calibration = body["calibration"]
    assert calibration["method"] == trained_home[1].metrics["calibration_method"]
    assert calibration["ece"] == pytest.approx(trained_home[1].metrics["ece"])
    low, high = calibration["ece_ci95"]
    assert low <= calibration["ece"] <= high
    assert set(calibration["reliability"]) == {"uncalibrated", "calibrated"}
    diagnosed = httpx.post(f"{service}/v1/diagnose", files={"file": ("a.png", files["a.png"])}, timeout=60).json()
    assert set(diagnosed["probabilities"]) == set(body["class_names"])
    assert diagnosed["threshold"] == pytest.approx(body["threshold"], abs=1e-5)


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
    from lepton_shared.testing.server import eventually

    def outputs() -> list[str]:
        with session_scope() as session:
            return [str(r.output) for r in session.scalars(select(PredictionLog))]

    logged = eventually(outputs, bool)
    assert logged and not any("PAT-SECRET-9" in text for text in logged)
    assert "PAT-SECRET-9" not in httpx.get(f"{service}/v1/studies").text


def test_predict_matches_diagnose_probabilities(service: str, files: dict[str, bytes]) -> None:
    encoded = base64.b64encode(files["a.png"]).decode()
    pred = httpx.post(f"{service}/v1/predict", json={"image_base64": encoded, "filename": "a.png"}, timeout=60).json()
    diag = httpx.post(f"{service}/v1/diagnose", files={"file": ("a.png", files["a.png"])}, timeout=60).json()
    assert "heatmap_png_base64" not in pred
    assert pred["probabilities"] == diag["probabilities"] and pred["label"] == diag["label"]


def _png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size: a header and an empty pixel-data chunk."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("name", "content", "status", "words"), [
    ("scan.png", b"\x89PNG\r\n\x1a\n-truncated", 400, "PNG"),
    ("bomb.png", _png_header(20_000, 20_000), 413, "pixels"),
    ("wide.png", _png_header(9_000, 9_000), 413, "9000 x 9000"),
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


def _png_body(i: int) -> dict[str, str]:
    import io

    from PIL import Image

    pixels = synth_image(i % 2, np.random.default_rng(500 + i), 64)
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
    return {"image_base64": base64.b64encode(buf.getvalue()).decode(), "filename": f"b{i}.png"}


def test_predictor_serves_on_lepton_device(trained_home: tuple[Path, Any]) -> None:
    import torch

    from apps.imaging.app import APP
    from lepton_shared.errors import UserError
    from lepton_shared.testing.env import lepton_env

    with lepton_env(trained_home[0], device="cpu"):
        assert APP.load_predictor().device == torch.device("cpu")  # type: ignore[attr-defined]
    with lepton_env(trained_home[0], device="tpu"), pytest.raises(UserError, match="LEPTON_DEVICE"):
        APP.load_predictor()
    if torch.cuda.is_available():  # the GPU path, where there is a GPU: the same answers as on the CPU
        from apps.imaging.predictor import ImagingPredictor

        info = trained_home[1]
        gpu, cpu = ImagingPredictor(info, device="cuda"), ImagingPredictor(info, device="cpu")
        assert gpu.device.type == "cuda"
        items = [gpu.InputModel.model_validate(_png_body(i)) for i in range(8)]
        for got, want in zip(gpu.predict_batch(items), cpu.predict_batch(items), strict=True):
            assert got["positive_probability"] == pytest.approx(want["positive_probability"], abs=1e-3)


def test_concurrent_predictions_are_batched_with_unbatched_answers(trained_home: tuple[Path, Any]) -> None:
    import concurrent.futures

    from apps.imaging.app import APP

    app = APP.create_service()
    state = app.state.lepton
    assert state.batching.enabled  # on by default for imaging
    bodies = [_png_body(i) for i in range(24)]
    bad = {"image_base64": "@@not base64@@"}  # in a batch with good ones: it alone gets the error
    with serve_app(app) as base, httpx.Client(timeout=60) as client, \
            concurrent.futures.ThreadPoolExecutor(len(bodies) + 1) as pool:
        answers = list(pool.map(lambda b: client.post(f"{base}/v1/predict", json=b), [*bodies, bad]))
    assert answers[-1].status_code == 400 and "base64" in answers.pop().json()["detail"]
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers if r.status_code != 200][:1]
    predictor = state.predictor
    for body, resp in zip(bodies, answers, strict=True):
        want = predictor.predict(predictor.InputModel.model_validate(body))  # one at a time, unbatched
        got = resp.json()
        assert got["label"] == want["label"]
        for name, p in want["probabilities"].items():
            assert got["probabilities"][name] == pytest.approx(p, abs=1e-5)
    assert state.batcher.batches_run < len(bodies) + 1


def test_study_ids_beyond_64_bits_are_422(lepton_home: Path) -> None:
    from apps.imaging.app import APP

    with serve_app(APP.create_service()) as url:
        for suffix in ("", "/report"):
            resp = httpx.get(f"{url}/v1/studies/{2**64}{suffix}", timeout=30)
            assert resp.status_code == 422 and "study_id" in resp.json()["detail"], resp.text
        review = httpx.post(f"{url}/v1/studies/{10**30}/review", json={"reviewer": "a", "confirmed": True},
                            timeout=30)
        assert review.status_code == 422 and "study_id" in review.json()["detail"], review.text
        assert httpx.get(f"{url}/v1/studies/{2**63 - 1}", timeout=30).status_code == 404


def test_shadow_replays_logged_uploads_and_measures_on_reviews(service: str, files: dict[str, bytes],
                                                               trained_home: tuple[Path, Any],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``lepton models shadow imaging <version>`` on uploads the service logged (small enough to keep): the
    version replayed through itself gives every logged label again, and no change on a clinician's review."""
    import json

    from sqlalchemy import func, select

    from lepton_shared.cli.main import main
    from lepton_shared.storage import PredictionLog, session_scope
    from lepton_shared.testing.server import eventually

    def kept() -> int:
        with session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(PredictionLog)
                                      .where(PredictionLog.app == "imaging",
                                             PredictionLog.model_input.is_not(None))) or 0)

    before = kept()
    answers = [httpx.post(f"{service}/v1/diagnose", files={"file": (name, files[name])}, timeout=60).json()
               for name in ("a.png", "a.dcm")]
    other = next(k for k in answers[0]["probabilities"] if k != answers[0]["label"])
    assert httpx.post(f"{service}/v1/studies/{answers[0]['study_id']}/review",
                      json={"reviewer": "Dr. Grey", "confirmed": False, "label": other}).status_code == 200
    assert eventually(kept, lambda n: n >= before + len(answers)) == before + len(answers)

    version = trained_home[1].version
    with pytest.raises(SystemExit) as done:
        main(["models", "shadow", "imaging", version, "--since", "1h", "--json"])
    assert done.value.code == 0
    report = json.loads(capsys.readouterr().out)
    # earlier tests of this module logged requests too (other routes, inputs too large to keep): only the count of
    # what this test sent is known, and every logged request is either replayed or skipped with a reason
    assert report["replayed"] + sum(report["skipped"].values()) == report["logged"]
    assert report["replayed"] >= len(answers), report["skipped"]
    assert report["agreement"] == 1.0 and report["answers"]["candidate"] == report["answers"]["production"]
    accuracy = report["metric_deltas"]["accuracy"]
    assert accuracy["labelled"] >= 1 and accuracy["delta"] == 0.0
