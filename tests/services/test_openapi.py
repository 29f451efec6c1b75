"""Every service's /openapi.json documents what the shell does: bearer auth, its 4xx answers, typed predict."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lepton_shared.app import get_app
from lepton_shared.manifest import app_names
from lepton_shared.serving.app import OPEN_PATHS
from lepton_shared.testing.env import lepton_env


def _openapi(app: str, home: Path, **settings: str) -> dict[str, Any]:
    with lepton_env(home, **settings):
        client = TestClient(get_app(app).create_service())  # no lifespan: no model needed to read the docs
        resp = client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.json()


def _schema_of(doc: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    ref = content["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("app", app_names())
def test_openapi_documents_auth_errors_and_typed_predict(app: str, tmp_path: Path) -> None:
    doc = _openapi(app, tmp_path, api_token="t")
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")

    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if path in OPEN_PATHS:
                assert "security" not in op and "401" not in codes, path
            else:
                assert op["security"] == [{"bearerAuth": []}] and "401" in codes, (path, method)
            if "requestBody" in op:
                assert {"413", "422"} <= codes, (path, method)
            if method in ("post", "put", "patch", "delete"):
                assert "409" in codes, (path, method)
            if "422" in codes:
                assert set(_schema_of(doc, op["responses"]["422"]["content"])["properties"]) == {"detail", "errors"}

    predict = doc["paths"]["/v1/predict"]["post"]
    body = _schema_of(doc, predict["requestBody"]["content"])
    assert body["type"] == "object" and body["properties"], "the app's InputModel, not an untyped object"
    assert "model_version" in _schema_of(doc, predict["responses"]["200"]["content"])["properties"]

    text = json.dumps(doc)
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in doc["components"]["schemas"], f"dangling $ref {name}"


def _typed(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether ``schema`` is a model with declared properties, or an array of them (not a bare object)."""
    if schema.get("type") == "array":
        return _typed(doc, schema["items"])
    if "$ref" not in schema:
        return False
    component = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return bool(component.get("properties"))


@pytest.mark.parametrize("app", app_names())
def test_every_answer_is_typed_and_every_error_has_the_error_body(app: str, tmp_path: Path) -> None:
    doc = _openapi(app, tmp_path, api_token="t")
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            success = [code for code in op["responses"] if code.startswith("2")]
            assert len(success) == 1, (path, method, success)
            content = op["responses"][success[0]].get("content")
            assert content, f"{method} {path} declares no answer"
            for media, body in content.items():
                if media == "application/json":
                    assert _typed(doc, body["schema"]), f"{method} {path} answers an untyped object"
                else:  # HTML pages, Prometheus text, CSV
                    assert media.startswith("text/") and body["schema"] == {"type": "string"}, (path, media)
            for code, answer in op["responses"].items():
                if code.startswith(("4", "5")) and code != "422" and path != "/readyz":  # its 503 says why
                    props = _schema_of(doc, answer["content"])["properties"]
                    assert set(props) == {"detail"}, (path, method, code)


def test_declared_errors_include_what_the_routes_raise(tmp_path: Path) -> None:
    """A route that needs the model documents 503; one that looks something up documents 404."""
    doc = _openapi("fraud", tmp_path, api_token="t")
    assert "503" in doc["paths"]["/v1/score"]["post"]["responses"]
    assert "404" in doc["paths"]["/v1/labels"]["post"]["responses"]
    assert "503" in doc["paths"]["/readyz"]["get"]["responses"]
    ready = _schema_of(doc, doc["paths"]["/readyz"]["get"]["responses"]["503"]["content"])
    assert set(ready["properties"]) == {"status", "reason"}


def test_metrics_documented_open_when_public(tmp_path: Path) -> None:
    doc = _openapi("fraud", tmp_path, api_token="t", metrics_public="1")
    assert "security" not in doc["paths"]["/metrics"]["get"]
    assert doc["paths"]["/v1/score"]["post"]["security"] == [{"bearerAuth": []}]
