"""Property (hypothesis): the image readers answer any bytes with an image or the app's user error, never another
exception: random bytes under every supported name, and real PNG, JPEG, DICOM, NIfTI and .nii.gz files
truncated anywhere or with bytes overwritten (headers included). It found library messages over several lines
inside the one-line user error of a truncated NIfTI file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.imaging.data import synth_image, write_dicom, write_nifti, write_png
from apps.imaging.readers import ALL_SUFFIXES, ImageRecord, read_bytes
from lepton_shared.errors import UserError

SETTINGS = settings(max_examples=80, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small valid files of every kind the readers take, by name."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("readers")
    pixels = synth_image(1, np.random.default_rng(0), 16)
    write_png(pixels, folder / "a.png")
    write_dicom(pixels, folder / "a.dcm")
    write_nifti(pixels, folder / "a.nii")
    write_nifti(pixels, folder / "a.nii.gz", depth=3)
    jpeg = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8)).save(jpeg, format="JPEG")
    (folder / "a.jpg").write_bytes(jpeg.getvalue())
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    for name, data in files.items():  # the untouched files are read, so a damaged one's error is the damage's
        assert isinstance(read_bytes(data, name), ImageRecord), name
    return files


def _read_or_user_error(data: bytes, name: str) -> None:
    try:
        record = read_bytes(data, name)
    except UserError as exc:  # TooLargeError is one too
        assert str(exc) and "\n" not in str(exc)
        return
    assert record.pixels.ndim == 2 and record.pixels.dtype == np.float32
    assert np.isfinite(record.pixels).all() and record.pixels.min() >= 0 and record.pixels.max() <= 1


@SETTINGS
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(["", *ALL_SUFFIXES]))
def test_random_bytes_are_an_image_or_a_user_error(lepton_home: Path, data: bytes, suffix: str) -> None:
    _read_or_user_error(data, f"upload{suffix}")


@SETTINGS
@given(choice=st.data())
def test_damaged_real_files_are_an_image_or_a_user_error(lepton_home: Path, real_files: dict[str, bytes],
                                                         choice: st.DataObject) -> None:
    name = choice.draw(st.sampled_from(sorted(real_files)), label="file")
    data = bytearray(real_files[name])
    cut = choice.draw(st.integers(0, len(data)), label="truncated at")
    data = data[:cut]
    for _ in range(choice.draw(st.integers(0, 4), label="bytes overwritten")):
        if data:
            at = choice.draw(st.integers(0, min(len(data) - 1, 400)), label="at")  # mostly the header
            data[at] = choice.draw(st.integers(0, 255), label="value")
    _read_or_user_error(bytes(data), name)
