"""docs/openapi.json is the generated document, so the published spec never drifts from the code, and
every operation declares what it can answer: its typed success body and its errors in the envelope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dmarcwatch.api.openapi import openapi_document
from dmarcwatch.api.registry import RouteSpec, route_specs

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
ERROR_ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


def operation_of(spec: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = openapi_document()["paths"][spec.path][spec.method.lower()]
    return operation


def test_published_spec_is_current() -> None:
    assert json.loads(SPEC.read_text()) == json.loads(json.dumps(openapi_document())), (
        "regenerate with: .venv/bin/dmarcwatch openapi > docs/openapi.json"
    )


def test_spec_documents_every_route_and_its_security() -> None:
    for spec in route_specs():
        operation = operation_of(spec)
        assert ("security" in operation) is (not spec.public)
        assert ("401" in operation["responses"]) is (not spec.public)


def test_published_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(json.loads(SPEC.read_text()))


def test_no_operation_declares_fastapis_422() -> None:
    document = json.loads(SPEC.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("spec", route_specs(), ids=lambda s: f"{s.method} {s.path}")
def test_every_operation_declares_its_errors_in_the_envelope(spec: RouteSpec) -> None:
    operation = operation_of(spec)
    responses = operation["responses"]
    if operation.get("parameters") or operation.get("requestBody"):
        assert "400" in responses
    if "{" in spec.path:
        assert "404" in responses
    if not spec.public:
        assert {"401", "403"} <= set(responses)
    assert {"429", "500"} <= set(responses)
    for status, response in responses.items():
        if status >= "400":
            assert response["content"]["application/json"]["schema"] == ERROR_ENVELOPE, status
            assert response["description"]


@pytest.mark.parametrize("spec", route_specs(), ids=lambda s: f"{s.method} {s.path}")
def test_every_success_response_has_a_typed_schema(spec: RouteSpec) -> None:
    components = openapi_document()["components"]["schemas"]
    successes = {s: r for s, r in operation_of(spec)["responses"].items() if s.startswith("2")}
    assert successes
    for status, response in successes.items():
        schema = response["content"]["application/json"]["schema"]
        name = schema["$ref"].removeprefix("#/components/schemas/")
        data = components[name]["properties"]["data"]
        # A model (or a list or union of models), never a free-form object.
        assert "additionalProperties" not in data, (status, name)
        assert "$ref" in json.dumps(data), (status, name)
