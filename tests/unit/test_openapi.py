"""docs/openapi.json is the generated document, so the published spec never drifts from the code."""

from __future__ import annotations

import json
from pathlib import Path

from dmarcwatch.api.openapi import openapi_document
from dmarcwatch.api.registry import route_specs

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_published_spec_is_current() -> None:
    assert json.loads(SPEC.read_text()) == json.loads(json.dumps(openapi_document())), (
        "regenerate with: .venv/bin/dmarcwatch openapi > docs/openapi.json"
    )


def test_spec_documents_every_route_and_its_security() -> None:
    paths = openapi_document()["paths"]
    for spec in route_specs():
        operation = paths[spec.path][spec.method.lower()]
        assert ("security" in operation) is (not spec.public)
        assert "401" in operation["responses"]


def test_published_spec_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(json.loads(SPEC.read_text()))
