import base64
import io
from typing import Any

import numpy as np

from lepton_shared.testing.contract import AppContract


def _png(label: int, seed: int) -> str:
    """A synthetic image (with opacities when ``label`` is 1) as base64 PNG bytes."""
    from PIL import Image

    from apps.imaging.data import synth_image

    pixels = synth_image(label, np.random.default_rng(seed), 64)
    buf = io.BytesIO()
    Image.fromarray((pixels * 255).round().astype(np.uint8), mode="L").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class TestImagingContract(AppContract):
    app_name = "imaging"

    def distinct_inputs(self) -> list[dict[str, Any]]:
        # different synthetic images, with and without opacities
        return [{"image_base64": _png(1, 7), "filename": "first.png"},
                {"image_base64": _png(0, 11), "filename": "second.png"},
                {"image_base64": _png(1, 23), "filename": "third.png"}]
