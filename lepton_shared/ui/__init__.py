"""What every Streamlit page uses to reach its app: :class:`AppClient` (the
service at ``LEPTON_<APP>_URL``, or the same service in-process)."""

from __future__ import annotations

from typing import Any

import httpx

from lepton_shared.settings import get_settings
from lepton_shared.ui.client import AppClient, ServiceError, reset_local
from lepton_shared.ui.urls import service_url

__all__ = ["AppClient", "ServiceError", "call_service", "reset_local", "service_is_up", "service_url"]


def call_service(app: str, method: str, path: str, **kwargs: Any) -> Any:
    """Call the app's service with the suite token; raises ``RuntimeError`` with the service's message."""
    url = service_url(app)
    if url is None:
        raise RuntimeError(f"no service URL configured for {app}")
    headers = kwargs.pop("headers", {})
    token = get_settings().api_token
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = httpx.request(method, url.rstrip("/") + path, headers=headers, timeout=60, **kwargs)
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise RuntimeError(f"{app} service answered {resp.status_code}: {detail}")
    return resp.json()


def service_is_up(app: str) -> bool:
    url = service_url(app)
    if url is None:
        return False
    try:
        return httpx.get(url.rstrip("/") + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
