"""Where an app's service is: ``LEPTON_<APP>_URL``, or nowhere (the page runs it in-process)."""

from __future__ import annotations

import os


def service_url(app: str) -> str | None:
    return os.environ.get(f"LEPTON_{app.upper()}_URL") or None
