"""Every operation of the OpenAPI document has an example request (api/examples.py) that its parameters and
request schema accept, shown as curl and as Python with dmarcwatch.client, and both send the same request."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import jsonschema
import pytest

from dmarcwatch.api.examples import EXAMPLES, PYTHON_SETUP, Example, code_samples, curl, python_call
from dmarcwatch.api.openapi import openapi_document
from dmarcwatch.api.registry import RouteSpec, route_specs
from dmarcwatch.client import DmarcwatchClient, RetryPolicy

SPECS = route_specs()


@cache
def document() -> dict[str, Any]:
    return openapi_document()


def operation(spec: RouteSpec) -> dict[str, Any]:
    found: dict[str, Any] = document()["paths"][spec.path][spec.method.lower()]
    return found


def validate(instance: Any, schema: dict[str, Any], where: str) -> None:
    """Against a schema of the document (its $refs resolved within it), as OpenAPI 3.1 means it."""
    rooted = {**schema, "components": document()["components"]}
    validator = jsonschema.Draft202012Validator(rooted, format_checker=jsonschema.FormatChecker())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, (where, errors)


def example_of(spec: RouteSpec) -> Example:
    return EXAMPLES[(spec.method, spec.path)]


def test_every_route_has_one_example_and_every_example_a_route() -> None:
    routes = {(s.method, s.path) for s in SPECS}
    assert routes - EXAMPLES.keys() == set(), "add these to dmarcwatch/api/examples.py"
    assert EXAMPLES.keys() - routes == set(), "examples of routes that do not exist"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.method} {s.path}")
def test_the_example_validates_against_the_operation(spec: RouteSpec) -> None:
    example = example_of(spec)
    parameters = {(p["in"], p["name"]): p for p in operation(spec).get("parameters", [])}
    assert set(re.findall(r"{(\w+)}", spec.path)) == set(example.path_params)
    for name, value in example.path_params.items():
        validate(value, parameters[("path", name)]["schema"], f"path {name}")
    for name, value in example.query.items():
        assert ("query", name) in parameters, f"{name} is not a query parameter of {spec.path}"
        validate(value, parameters[("query", name)]["schema"], f"query {name}")
    for (place, name), parameter in parameters.items():
        if parameter.get("required"):
            assert name in (example.path_params if place == "path" else example.query), name
    body = operation(spec).get("requestBody")
    if body is None:
        assert example.body is None
    else:
        assert example.body is not None, "the operation takes a body"
        validate(example.body, body["content"]["application/json"]["schema"], "body")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.method} {s.path}")
def test_the_published_operation_carries_both_samples_and_they_parse(spec: RouteSpec) -> None:
    samples = operation(spec)["x-codeSamples"]
    assert samples == code_samples(spec.method, spec.path)
    assert [s["label"] for s in samples] == ["curl", "dmarcwatch.client"]
    compile(samples[1]["source"], f"{spec.method} {spec.path}", "exec")
    assert samples[0]["source"].startswith("curl ")


def curl_request(method: str, path: str, example: Example) -> tuple[str, str, list[tuple[str, str]], Any]:
    """What the curl sample sends: method, path, query pairs and body, read back from its text."""
    source = curl(method, path, example)
    url = re.search(r'"\$DMARCWATCH_API_URL([^"]*)"', source)
    assert url
    parts = urlsplit(url.group(1))
    data = re.search(r"-d '(.*)'", source, re.DOTALL)
    body: Any = json.loads(data.group(1)) if data else None
    if upload := re.search(r"--data-binary @(\S+)", source):
        body = Path(upload.group(1)).read_bytes()
    sent = re.search(r"-X (\w+)", source)
    return (sent.group(1) if sent else "GET", unquote(parts.path), parse_qsl(parts.query), body)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.method} {s.path}")
def test_the_python_sample_sends_the_curl_samples_request(
    spec: RouteSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.xml.gz").write_bytes(b"\x1f\x8b fixture")
    example = example_of(spec)
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {}, "meta": {}})

    client = DmarcwatchClient(
        "https://api.example.test/v1",
        "dmw_test_x",
        http=httpx.Client(transport=httpx.MockTransport(record)),
        retry=RetryPolicy(max_attempts=1),
    )
    compile(PYTHON_SETUP, "setup", "exec")
    try:
        exec(python_call(spec.method, spec.path, example), {"client": client})  # noqa: S102 - our own samples
    except Exception as failure:  # the typed parse of the stand-in answer may fail
        outcome: Exception | None = failure
    else:
        outcome = None
    assert len(sent) == 1, outcome
    request = sent[0]
    method, path, query, body = curl_request(spec.method, spec.path, example)
    assert (request.method, unquote(request.url.path)) == (method, f"/v1{path}")
    assert list(request.url.params.multi_items()) == query
    if isinstance(body, bytes):
        assert request.content == body
    else:
        assert (json.loads(request.content) if request.content else None) == body
