"""A query parameter the endpoint does not take is a 400 naming it and the ones it takes (seed 002's
`offset`, seed 001's `page`, typos), never a silently unfiltered first page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import ApiAccount


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/domains", {"offset": "250"}),
        ("/v1/domains", {"page": "2"}),
        ("/v1/domains", {"dmarc_stauts": "none"}),
        ("/v1/reports", {"start": "2026-01-01"}),
        ("/v1/dashboard/summary", {"folder": "x"}),
    ],
)
def test_unknown_query_parameters_are_refused(
    client: TestClient, account: ApiAccount, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, headers=account.headers(), params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    [name] = params
    assert error["details"] == [
        {"field": f"query.{name}", "issue": "unknown", "message": "not a parameter here"}
    ]
    assert "this endpoint takes:" in error["message"]


def test_every_declared_parameter_is_accepted(client: TestClient, account: ApiAccount) -> None:
    params = [
        ("search", "a"),
        ("email_gateway", "none"),
        ("dmarc_status", "none"),
        ("folder_id", "none"),
        ("tag", "eu"),
        ("tag", "us"),
        ("is_favorite", "false"),
        ("status", "active"),
        ("limit", "10"),
    ]
    assert client.get("/v1/domains", headers=account.headers(), params=params).status_code == 200
    assert client.get("/v1/health", params={}).status_code == 200
