"""``AppClient``: the one way a Streamlit page talks to its app.

With ``LEPTON_<APP>_URL`` set, requests go to that service over HTTP; without it,
the very same requests go to the app's service built in this process (FastAPI's
``TestClient`` over ``create_service()``, with its start-up and shut-down
handlers run), so a page offers exactly the same features both ways and has one
code path to test.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from lepton_shared.settings import get_settings
from lepton_shared.ui.urls import service_url

_LOCAL: dict[str, Any] = {}
_LOCK = threading.Lock()


class ServiceError(RuntimeError):
    """The service refused a request; ``str()`` is its message, ready to show to the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _local_client(app: str) -> Any:
    """The app's service running in this process, started once and kept for the process's life."""
    with _LOCK:
        if app not in _LOCAL:
            from fastapi.testclient import TestClient

            from lepton_shared.app import get_app

            client = TestClient(get_app(app).create_service(), raise_server_exceptions=False)
            client.__enter__()  # runs the lifespan: model loading, batcher, database checks
            _LOCAL[app] = client
        return _LOCAL[app]


def reset_local(app: str | None = None) -> None:
    """Stop in-process services (all, or one app's), e.g. after the environment changed in a test."""
    with _LOCK:
        for name in [app] if app else list(_LOCAL):
            client = _LOCAL.pop(name, None)
            if client is not None:
                client.__exit__(None, None, None)


class AppClient:
    """Requests to one app's service, remote or in-process; errors become :class:`ServiceError`."""

    def __init__(self, app: str, timeout: float = 60.0) -> None:
        self.app = app
        self.url = service_url(app)
        self.timeout = timeout

    @property
    def remote(self) -> bool:
        return self.url is not None

    @property
    def where(self) -> str:
        """Where answers come from, in words for the page's caption."""
        return f"service {self.url}" if self.url else "in-process"

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        token = get_settings().api_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The response itself (for files such as CSV exports or PDF reports); ``timeout=`` (seconds) for a
        request known to take long; a service that does not answer in time is a 504 :class:`ServiceError`."""
        headers = self._headers(kwargs.pop("headers", None))
        timeout = kwargs.pop("timeout", self.timeout)
        if self.url is not None:
            try:
                resp = httpx.request(method, self.url.rstrip("/") + path, headers=headers, timeout=timeout, **kwargs)
            except httpx.TimeoutException:
                raise ServiceError(504, f"the {self.app} service did not answer {method} {path} within "
                                        f"{timeout:g} s; it may be busy: try again in a moment") from None
        else:
            resp = _local_client(self.app).request(method, path, headers=headers, **kwargs)
        if resp.status_code >= 400:
            try:
                body = resp.json()
                detail = body.get("detail", resp.text) if isinstance(body, dict) else resp.text
            except ValueError:
                detail = resp.text
            raise ServiceError(resp.status_code, f"{self.app} service answered {resp.status_code}: {detail}")
        return resp

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of ``method path``."""
        return self.raw(method, path, **kwargs).json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def is_up(self) -> bool:
        try:
            return self.raw("GET", "/healthz").status_code == 200
        except (ServiceError, httpx.HTTPError):
            return False
