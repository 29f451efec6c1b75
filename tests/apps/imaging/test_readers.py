"""Readers: PNG, DICOM (rescale, window, identifiers), NIfTI (2-D, 3-D slices), damaged files."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from apps.imaging.data import synth_image, write_dicom, write_nifti, write_png
from apps.imaging.readers import read_bytes, read_file, salted_hash, sniff_format
from lepton_shared.errors import UserError


@pytest.fixture()
def image() -> np.ndarray:
    return synth_image(1, np.random.default_rng(3), 32)


def test_png_round_trip(tmp_path: Path, image: np.ndarray) -> None:
    write_png(image, tmp_path / "a.png")
    rec = read_file(tmp_path / "a.png")
    assert rec.format == "png" and rec.pixels.shape == (32, 32) and rec.pixels.dtype == np.float32
    assert np.abs(rec.pixels - image).max() <= 1 / 255 + 1e-6


def test_jpeg_is_read(tmp_path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "a.jpg", quality=95)
    rec = read_file(tmp_path / "a.jpg")
    assert rec.format == "jpeg" and np.abs(rec.pixels - image).mean() < 0.05


def test_dicom_rescale_window_and_identifiers(lepton_home: Path, tmp_path: Path, image: np.ndarray) -> None:
    write_dicom(image, tmp_path / "a.dcm", patient_id="PAT-42", study_uid="1.2.3.4", slope=2.0, intercept=-1024)
    rec = read_file(tmp_path / "a.dcm")
    assert rec.format == "dicom"
    # HU = pixels*2000-1000, window centre 0 width 2000 maps HU back onto [0, 1]
    assert np.abs(rec.pixels - image).max() < 2e-3
    assert rec.meta["study_uid"] == "1.2.3.4" and rec.meta["series_uid"]
    assert rec.meta["patient_hash"] == salted_hash("PAT-42")
    assert "PAT-42" not in repr(rec.meta)


def test_patient_hash_depends_on_salt(tmp_path: Path) -> None:
    from lepton_shared.testing.env import lepton_env

    with lepton_env(tmp_path / "a", id_salt="one"):
        first = salted_hash("PAT-42")
    with lepton_env(tmp_path / "b", id_salt="two"):
        second = salted_hash("PAT-42")
    assert first != second and len(first) == 16


def test_nifti_2d_and_3d_slices(tmp_path: Path, image: np.ndarray) -> None:
    write_nifti(image, tmp_path / "flat.nii.gz")
    rec = read_file(tmp_path / "flat.nii.gz")
    assert rec.format == "nifti" and rec.pixels.shape == image.shape
    assert np.abs(rec.pixels - (image - image.min()) / (image.max() - image.min())).max() < 1e-5
    write_nifti(image, tmp_path / "vol.nii", depth=5)
    middle = read_file(tmp_path / "vol.nii")
    assert middle.meta["slice"] == 2 and middle.pixels.max() == 1.0
    empty = read_bytes((tmp_path / "vol.nii").read_bytes(), "vol.nii", slice_index=0)
    assert empty.pixels.max() == 0.0  # the other slices are blank
    with pytest.raises(UserError, match="outside"):
        read_bytes((tmp_path / "vol.nii").read_bytes(), "vol.nii", slice_index=9)


@pytest.mark.parametrize("suffix", ["png", "dcm", "nii.gz"])
def test_truncated_files_are_user_errors(tmp_path: Path, image: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"a.{suffix}"
    {"png": write_png, "dcm": write_dicom, "nii.gz": write_nifti}[suffix](image, path)  # type: ignore[operator]
    data = path.read_bytes()
    with pytest.raises(UserError):
        read_bytes(data[: len(data) // 2], path.name)


def test_wrong_type_and_empty(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unsupported file type"):
        read_bytes(b"%PDF-1.4 not an image at all", "scan.pdf")
    with pytest.raises(UserError, match="empty"):
        read_bytes(b"", "x.png")
    with pytest.raises(UserError, match="not a DICOM"):
        read_bytes(b"garbage" * 40, "x.dcm")
    with pytest.raises(UserError):
        read_bytes(gzip.compress(b"not nifti"), "x.nii.gz")
    with pytest.raises(UserError, match="not found"):
        read_file(tmp_path / "missing.png")


def test_sniff_prefers_content_over_name(tmp_path: Path, image: np.ndarray) -> None:
    write_png(image, tmp_path / "a.png")
    assert sniff_format((tmp_path / "a.png").read_bytes(), "misnamed.dcm") == "png"


def _png(width: int, height: int, rows: int) -> bytes:
    """A grey 8-bit PNG whose header says ``width`` x ``height`` and whose data holds ``rows`` rows of zeros,
    written without ever holding the pixels (the test must not allocate what the reader must refuse)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the row's pixels
    idat = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _peak_bytes(fn: Callable[[], object]) -> int:
    """The most memory Python and numpy held at once while ``fn`` ran (its exception, if any, is swallowed)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except Exception:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_png_header_claiming_a_huge_image_is_413_not_a_crash() -> None:
    bomb = _png(20_000, 20_000, rows=1)  # Pillow's own decompression-bomb check fires on this one
    assert len(bomb) < 1000
    with pytest.raises(UserError, match="pixels") as err:
        read_bytes(bomb, "bomb.png")
    assert err.value.status_code == 413


def test_zero_png_over_the_pixel_budget_is_refused_before_decoding() -> None:
    from apps.imaging.readers import MAX_PIXELS

    zeros = _png(9000, 9000, rows=9000)  # 81 Mpx of zeros: under Pillow's bomb limit, about 80 KB
    assert MAX_PIXELS < 9000 * 9000 and len(zeros) < 200_000

    def read() -> None:
        with pytest.raises(UserError, match="9000 x 9000") as err:
            read_bytes(zeros, "zeros.png")
        assert err.value.status_code == 413

    assert _peak_bytes(read) < 16 * 2**20  # decoding it would take >300 MB as float32
    read()


def test_gzip_nifti_is_decompressed_only_up_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    import nibabel as nib

    from apps.imaging import readers

    monkeypatch.setattr(readers, "MAX_NIFTI_BYTES", 2**20)
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 64))
    header.set_data_dtype(np.uint8)
    packer = zlib.compressobj(9, wbits=31)  # gzip framing
    block = bytes(2**20)
    head = packer.compress(header.binaryblock + bytes(4))
    data = head + b"".join(packer.compress(block) for _ in range(64)) + packer.flush()  # 64 MiB of zeros
    assert len(data) < 200_000

    def read() -> None:
        with pytest.raises(UserError, match=r"1024 x 1024 x 64 voxels .* over the limit of 1 MiB") as err:
            read_bytes(data, "zeros.nii.gz")
        assert err.value.status_code == 413

    assert _peak_bytes(read) < 2**20  # refused from the header: no more than a chunk is inflated
    read()
    header.set_data_shape((256, 256, 4))  # declares 256 KiB: the zeros after them are never inflated
    small = zlib.compressobj(9, wbits=31)
    data = small.compress(header.binaryblock + bytes(4)) + b"".join(
        small.compress(block) for _ in range(64)) + small.flush()
    peak = _peak_bytes(lambda: read_bytes(data, "trail.nii.gz"))
    assert read_bytes(data, "trail.nii.gz").pixels.shape == (256, 256) and peak < 4 * 2**20


def test_nifti_without_header_is_a_user_error() -> None:
    import zlib

    packer = zlib.compressobj(9, wbits=31)
    data = b"".join(packer.compress(bytes(2**20)) for _ in range(64)) + packer.flush()
    with pytest.raises(UserError, match="not a readable NIfTI") as err:
        read_bytes(data, "zeros.nii.gz")
    assert err.value.status_code == 400


def test_dicom_frames_count_against_the_pixel_budget(tmp_path: Path, image: np.ndarray) -> None:
    """A compressed multi-frame file of a few MB can decode to gigabytes: every frame counts, before decoding."""
    import pydicom

    write_dicom(image, tmp_path / "a.dcm")
    ds = pydicom.dcmread(tmp_path / "a.dcm")
    ds.Rows = ds.Columns = 2048
    ds.NumberOfFrames = 400
    ds.save_as(tmp_path / "frames.dcm")
    with pytest.raises(UserError, match="400 frame") as err:
        read_file(tmp_path / "frames.dcm")
    assert err.value.status_code == 413
