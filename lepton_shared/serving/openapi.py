"""The service's OpenAPI document, completed with what the shell does outside FastAPI's view.

Auth, the size limit and the 4xx bodies live in pure-ASGI middleware and exception handlers, so FastAPI
alone documents none of them: ``/docs`` would show no Authorize button, only 200 and 422, and a 422 body
that is not the one the service sends. :func:`install` adds them once, when the document is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from lepton_shared.serving.schemas import ERRORS, ErrorBody, Prediction, ValidationErrorBody

BEARER = "bearerAuth"
REF = "#/components/schemas/{model}"

_WRITES = frozenset({"post", "put", "patch", "delete"})


def _components(models: list[type[BaseModel]]) -> dict[str, Any]:
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return dict(defs.get("$defs", {}))


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def install(app: FastAPI, protected: Callable[[str], bool], input_model: type[BaseModel] | None = None) -> None:
    """Give ``app`` an OpenAPI document with the bearer scheme on ``protected`` paths, the 401/409/413/422
    answers the shell gives, and ``/v1/predict``'s typed input (``input_model``) and answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})[BEARER] = {
            "type": "http", "scheme": "bearer", "description": "The service's LEPTON_API_TOKEN"}
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas.update(_components([ErrorBody, ValidationErrorBody, Prediction,
                                    *([input_model] if input_model else [])]))
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _complete(operation, path, method, protected(path))
        predict = schema.get("paths", {}).get("/v1/predict", {}).get("post")
        if predict is not None:
            if input_model is not None:
                predict["requestBody"] = {"required": True, "content": _json(_ref(input_model))}
            predict["responses"]["200"] = {"description": "The answer", "content": _json(_ref(Prediction))}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(operation: dict[str, Any], path: str, method: str, protected: bool) -> None:
    responses = operation.setdefault("responses", {})
    for code, answer in responses.items():  # FastAPI files a page route's error models under text/html
        content = answer.get("content", {})
        if code[0] in "45" and "application/json" not in content:
            schemas = [body["schema"] for body in content.values() if "$ref" in body.get("schema", {})]
            if schemas:
                answer["content"] = _json(schemas[0])
    codes = []
    if protected:
        operation["security"] = [{BEARER: []}]
        codes.append("401")
    if method in _WRITES:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("413")
    if "requestBody" in operation or operation.get("parameters"):
        codes.append("422")
    for code in codes:
        description, model = ERRORS[int(code)]
        responses[code] = {"description": description, "content": _json(_ref(model))}
