"""Each dataset's export holds what its list endpoint shows: scan results, reports, sources, statistics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.ingest import pipeline
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store import blobs
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.integration.conftest import ApiAccount
from tests.support.exports import csv_rows, download, export_and_run, json_rows
from tests.support.reports import Row, aggregate_xml

pytestmark = pytest.mark.usefixtures("dns_server")

DOMAIN = "corp-a.test"  # a fixture zone (tests/dns/zones)


@pytest.fixture
def portfolio(client: TestClient, account: ApiAccount) -> str:
    """A scanned domain with one report of two sources on 2026-01-01, and an unscanned one."""
    headers = account.headers()
    domain_id: str = client.post("/v1/domains", headers=headers, json={"domain": DOMAIN}).json()["data"]["id"]
    assert (
        client.post("/v1/domains", headers=headers, json={"domain": "unscanned.example"}).status_code == 201
    )
    assert client.post(f"/v1/domains/{domain_id}/scan", headers=headers).status_code == 200
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    key = f"inbound/api/{account.id}/live/{uuid.uuid4().hex}"
    blobs.put_raw(key, aggregate_xml(DOMAIN, [Row("192.0.2.1", 3), Row("192.0.2.2", 1, "fail", "fail")]), {})
    assert pipeline.ingest_object(key, only=tenant).stored
    return domain_id


def rows_of(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> list[dict[str, Any]]:
    export = export_and_run(client, account.headers(), {"export_type": "json", **body})
    assert export["status"] == "completed", export
    return json_rows(download(export["file_url"]))


def test_scan_results_are_the_latest_scans(client: TestClient, account: ApiAccount, portfolio: str) -> None:
    (row,) = rows_of(client, account, {"dataset": "scan_results"})  # the unscanned domain has none
    latest = client.get(f"/v1/domains/{portfolio}/scan-results", headers=account.headers()).json()["data"]
    result = latest["result"]
    assert row["domain_id"] == portfolio
    assert row["domain_name"] == DOMAIN
    for name in ("spf", "spf_status", "dmarc", "dmarc_status", "dmarc_policy_p", "email_gateway", "ns"):
        assert row[name] == result[name], name
    assert row["mx"] == [f"{m['priority']} {m['host']}" for m in result["mx"]]
    assert row["scanned_at"].endswith("Z")


def test_reports_are_the_report_list(client: TestClient, account: ApiAccount, portfolio: str) -> None:
    rows = rows_of(client, account, {"dataset": "reports", "filters": {"domain_id": DOMAIN}})
    listed = client.get("/v1/reports", headers=account.headers()).json()["data"]
    assert [r["id"] for r in rows] == [r["id"] for r in listed]
    for name in (
        "org_name",
        "external_report_id",
        "begin",
        "end",
        "received_at",
        "message_count",
        "pass_rate",
    ):
        assert rows[0][name] == listed[0][name], name
    later = rows_of(client, account, {"dataset": "reports", "since": "2099-01-01T00:00:00Z"})
    assert later == []


def test_sources_are_the_sources_list(client: TestClient, account: ApiAccount, portfolio: str) -> None:
    rows = rows_of(client, account, {"dataset": "sources", "filters": {"date": "2026-01-01"}})
    listed = client.get(f"/v1/domains/{portfolio}/sources?date=2026-01-01", headers=account.headers()).json()
    assert [(r["ip"], r["messages"], r["dmarc_fail"]) for r in rows] == [
        (s["ip"], s["messages"], s["dmarc_fail"]) for s in listed["data"]
    ]
    assert [r["ip"] for r in rows] == ["192.0.2.1", "192.0.2.2"]
    assert {r["start_date"] for r in rows} == {"2026-01-01"}
    assert all(r["domain_name"] == DOMAIN for r in rows)


def test_stats_are_the_daily_statistics(client: TestClient, account: ApiAccount, portfolio: str) -> None:
    window = {"start_date": "2025-12-31", "end_date": "2026-01-02"}
    export = export_and_run(client, account.headers(), {"dataset": "stats", "filters": window})
    rows = csv_rows(download(export["file_url"]))
    stats = client.get(
        f"/v1/domains/{portfolio}/stats?start_date=2025-12-31&end_date=2026-01-02", headers=account.headers()
    ).json()["data"]
    mine = [r for r in rows if r["domain_id"] == portfolio]
    assert [(r["date"], int(r["messages"]), int(r["dmarc_pass"])) for r in mine] == [
        (d["date"], d["messages"], d["dmarc_pass"]) for d in stats["days"]
    ]
    assert len(rows) == 6  # three days of each domain, the unscanned one's empty
    assert export["progress"] == 100
