"""Every list endpoint validates `limit` and refuses cursors it did not issue, with the error envelope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml
from tests.support.worker import upload_report

LISTS = [
    "/v1/domains",
    "/v1/reports",
    "/v1/reports/{report}",
    "/v1/domains/example.com/sources",
    "/v1/domains/example.com/changes",
    "/v1/quarantine",
]


@pytest.fixture
def report_id(client: TestClient, account: ApiAccount) -> str:
    client.post("/v1/domains", headers=account.headers(), json={"domain": "example.com"})
    uploaded = upload_report(client, account.headers(), aggregate_xml("example.com", [Row("192.0.2.1", 1)]))
    return str(uploaded["report_ids"][0])


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "-1", "1001", "many"])
def test_limit_out_of_range(
    client: TestClient, account: ApiAccount, report_id: str, path: str, limit: str
) -> None:
    response = client.get(path.format(report=report_id), params={"limit": limit}, headers=account.headers())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "query.limit"


@pytest.mark.parametrize("path", LISTS)
def test_foreign_cursor(client: TestClient, account: ApiAccount, report_id: str, path: str) -> None:
    response = client.get(
        path.format(report=report_id),
        params={"cursor": "eyJxIjoiIn0.bm90LXNpZ25lZA"},
        headers=account.headers(),
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{"field": "cursor", "issue": "invalid"}]
