"""Memory: a 10 MB upload of any kind raises a real imaging server's peak memory by at most 200 MB.

A small file can describe a huge image, and a large one can be refused only after it was decoded; the
readers' budgets are what keeps a server with a few workers inside its container's limit. The server is a
real ``lepton imaging serve`` process; its peak resident memory (``VmHWM`` in ``/proc/<pid>/status``) is reset
to its resident memory before every upload (after warm-up) and read after it. Each upload is built to be at
most 10 MB on the wire, and each bad one must get a 4xx with a message while the server lives on.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_shared.testing.server import free_port, serve_process

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")]

TOKEN = "memory-test-token"
#: the issue's bound on what one upload may add to the server's peak memory
BUDGET_MB = 200
MB = 10 * 2**20  # the uploads' size: LEPTON_MAX_REQUEST_BYTES' default


def _status_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {key} in /proc status")


def _reset_peak(pid: int) -> float:
    """Reset the process's VmHWM to its resident memory now (Linux ``clear_refs`` 5); that memory in MB.

    Each upload is measured from the memory the server holds just before it: the allocator keeps some freed
    memory resident, so peaks measured from warm-up alone would add up every earlier upload's leftovers."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _status_mb(pid, "VmRSS")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, rows: int, color_type: int = 0, depth: int = 8) -> bytes:
    """A PNG whose header says ``width`` x ``height`` and whose data holds ``rows`` rows of zeros, written
    without holding the pixels (grey 0, RGB 2; ``depth`` 8 or 16)."""
    channels = {0: 1, 2: 3}[color_type]
    packer = zlib.compressobj(9)
    row = bytes(1 + width * channels * depth // 8)
    idat = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def _noise_png() -> bytes:
    """Grey noise: incompressible, so the most pixels a 10 MB PNG can really hold."""
    from PIL import Image

    side = 3200
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)).save(
        buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _dicom(rows: int, cols: int, frames: int = 1, pixel_bytes: int | None = None) -> bytes:
    """An uncompressed 16-bit DICOM; ``pixel_bytes`` of noise when the header claims more than is sent."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("upload.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.Modality = "MEM-1", "DX"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, 0
    size = pixel_bytes if pixel_bytes is not None else rows * cols * frames * 2
    ds.PixelData = np.random.default_rng(1).integers(0, 4096, size // 2, dtype=np.uint16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _nifti_header(shape: tuple[int, ...], dtype: type = np.int16) -> bytes:
    import nibabel as nib

    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header.set_data_offset(352)
    return header.binaryblock + b"\0" * 4


def _nifti(shape: tuple[int, ...]) -> bytes:
    """An uncompressed int16 volume of noise."""
    voxels = np.random.default_rng(2).integers(0, 2000, int(np.prod(shape)), dtype=np.int16)
    return _nifti_header(shape) + voxels.tobytes()


def _gzip_of_zeros(head: bytes, zeros: int) -> bytes:
    """``head`` then ``zeros`` zero bytes, gzip-compressed in well under a second: after a sync flush the window
    holds only zeros, so one compressed MiB of zeros is valid repeated (compressing a GiB takes 10 s or more)."""
    mib = 2**20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(head) + packer.compress(bytes(mib)) + packer.flush(zlib.Z_SYNC_FLUSH)
    again = packer.compress(bytes(mib)) + packer.flush(zlib.Z_SYNC_FLUSH)
    crc = zlib.crc32(head)
    zero_crc = [crc := zlib.crc32(bytes(mib), crc) for _ in range(zeros // mib)][-1]
    body = first + again * (zeros // mib - 1) + packer.flush()
    size = (len(head) + zeros) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", zero_crc, size)


def _zero_nifti_gz(shape: tuple[int, ...], zeros: int) -> bytes:
    """A ``.nii.gz`` declaring ``shape`` followed by ``zeros`` bytes of zeros (gzip shrinks them 1000-fold)."""
    return _gzip_of_zeros(_nifti_header(shape), zeros)


#: (name, filename, the upload's bytes, the expected status); 200s are the largest files the readers accept
UPLOADS: list[tuple[str, str, Callable[[], bytes], int]] = [
    ("png header claiming 20000 x 20000", "bomb.png", lambda: _png(20_000, 20_000, rows=1), 413),
    ("png of zeros 9000 x 9000 (79 KB)", "zeros.png", lambda: _png(9000, 9000, rows=9000), 413),
    ("png of zeros at the pixel limit, 16-bit RGB", "rgb16.png",
     lambda: _png(4096, 4096, rows=4096, color_type=2, depth=16), 200),
    ("png of zeros at the pixel limit, 16-bit grey", "grey16.png",
     lambda: _png(4096, 4096, rows=4096, depth=16), 200),
    ("png of 10 MB of noise", "noise.png", _noise_png, 200),
    ("dicom 16-bit 2240 x 2240 (10 MB)", "big.dcm", lambda: _dicom(2240, 2240), 200),
    ("dicom claiming 400 frames of 2048 x 2048", "frames.dcm", lambda: _dicom(2048, 2048, 400, pixel_bytes=MB - 4096),
     413),
    ("nifti int16 256 x 256 x 76 (10 MB)", "vol.nii", lambda: _nifti((256, 256, 76)), 200),
    ("nii.gz declaring 2048^3, of zeros", "bomb.nii.gz", lambda: _zero_nifti_gz((2048, 2048, 2048), 2**30), 413),
    ("nii.gz declaring 256 x 256 x 256 int16, of zeros", "mri.nii.gz",
     lambda: _zero_nifti_gz((256, 256, 256), 2**25), 200),
    ("nii.gz declaring 64 x 64 x 4, then 1 GiB of zeros", "trail.nii.gz",
     lambda: _zero_nifti_gz((64, 64, 4), 2**30), 200),
    ("gzip of 1 GiB of zeros, no header", "zeros.nii.gz", lambda: _gzip_of_zeros(b"", 2**30), 400),
    ("10 MB of random bytes", "random.bin", lambda: np.random.default_rng(3).bytes(MB - 4096), 400),
]


def _send(client: object, base: str, filename: str, data: bytes) -> tuple[int, str]:
    import httpx

    assert isinstance(client, httpx.Client)
    resp = client.post(f"{base}/v1/diagnose", files={"file": (filename, data, "application/octet-stream")})
    return resp.status_code, resp.text


def test_ten_megabyte_uploads_raise_peak_memory_by_at_most_200_mb(trained_home: tuple[Path, Any]) -> None:
    import httpx

    from apps.imaging.data import synth_image, write_png

    home = trained_home[0]
    port = free_port()
    env = {**os.environ, "LEPTON_HOME": str(home), "LEPTON_API_TOKEN": TOKEN, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[3]), os.environ.get("PYTHONPATH", "")])}
    env.pop("LEPTON_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "lepton_shared.cli.main", "imaging", "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    small = io.BytesIO()
    write_png(synth_image(1, np.random.default_rng(5), 64), small)
    with serve_process(cmd, f"{base}/healthz", env=env) as proc, \
            httpx.Client(timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for _ in range(3):  # warm-up: the model, torch's kernels, the database and the log writer
            assert _send(client, base, "small.png", small.getvalue())[0] == 200
        body = {"image_base64": base64.b64encode(small.getvalue()).decode(), "filename": "small.png"}
        assert client.post(f"{base}/v1/predict", json=body).status_code == 200
        warm = _status_mb(proc.pid, "VmHWM")
        growth: dict[str, float] = {}
        wrong: list[str] = []
        for name, filename, make, expected in UPLOADS:
            data = make()
            assert len(data) <= MB, f"{name}: {len(data)} bytes, over 10 MB"
            before = _reset_peak(proc.pid)
            status, text = _send(client, base, filename, data)
            growth[name] = _status_mb(proc.pid, "VmHWM") - before
            del data
            if status != expected or (status >= 400 and not json.loads(text).get("detail")):
                wrong.append(f"{name}: {status} {text[:200]}")
        # the JSON route: a 10 MB body of base64 that is no image, and a 10 MB body of the wrong shape
        noise = base64.b64encode(np.random.default_rng(4).bytes(MB * 3 // 4 - 4096)).decode()
        json_bodies = [("json: 10 MB of base64 noise", {"image_base64": noise, "filename": "x.png"}, 400),
                       ("json: 10 MB list", {"image_base64": [0] * (MB // 2 - 4096)}, 422)]
        for name, payload, expected in json_bodies:
            raw = json.dumps(payload, separators=(",", ":")).encode()
            assert len(raw) <= MB, f"{name}: {len(raw)} bytes"
            before = _reset_peak(proc.pid)
            resp = client.post(f"{base}/v1/predict", content=raw, headers={"Content-Type": "application/json"})
            growth[name] = _status_mb(proc.pid, "VmHWM") - before
            if resp.status_code != expected or not resp.json().get("detail"):
                wrong.append(f"{name}: {resp.status_code} {resp.text[:200]}")
        alive = client.get(f"{base}/readyz").status_code
        report = "\n".join(f"  {mb:7.1f} MB by {name}" for name, mb in growth.items())
        print(f"\nVmHWM after warm-up {warm:.0f} MB, resident at the end {_status_mb(proc.pid, 'VmRSS'):.0f} MB; "
              f"peak over the memory held before each upload:\n{report}")
    assert not wrong, "\n".join(wrong)
    assert alive == 200
    assert max(growth.values()) <= BUDGET_MB, f"an upload raised peak memory by more than {BUDGET_MB} MB:\n{report}"
    assert proc.returncode is not None and proc.returncode in (0, -15), subprocess.list2cmdline(cmd)
