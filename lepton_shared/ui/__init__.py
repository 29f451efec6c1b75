"""What every Streamlit page uses to reach its app: :class:`AppClient` (the
service at ``LEPTON_<APP>_URL``, or the same service in-process)."""

from __future__ import annotations

import httpx

from lepton_shared.ui.client import AppClient, ServiceError, reset_local
from lepton_shared.ui.urls import service_url

__all__ = ["AppClient", "ServiceError", "reset_local", "service_is_up", "service_url"]


def service_is_up(app: str) -> bool:
    url = service_url(app)
    if url is None:
        return False
    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
