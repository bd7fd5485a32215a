"""The published OpenAPI document (docs/openapi.json), generated from the routers."""

from __future__ import annotations

from typing import Any

from dmarcwatch.api.app import create_app
from dmarcwatch.api.examples import code_samples


def openapi_document() -> dict[str, Any]:
    document = create_app().openapi()
    document["components"].setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (dmw_live_… or dmw_test_…) in 'Authorization: Bearer <key>'.",
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            if not operation.get("x-public"):
                operation["security"] = [{"apiKey": []}]
    document["servers"] = [{"url": "/v1", "description": "The API base path (the API Gateway stage v1)"}]
    document["paths"] = {path.removeprefix("/v1") or "/": ops for path, ops in document["paths"].items()}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if samples := code_samples(method.upper(), path):
                operation["x-codeSamples"] = samples
    return document
