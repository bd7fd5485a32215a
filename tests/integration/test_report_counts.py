"""The report list's meta.total_count: the tenant's counter unfiltered (kept by completions and purges,
mended by the reconciliation), a COUNT on the same index when filtered."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from dmarcwatch import table as t
from dmarcwatch.ingest import pipeline
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.services import reconciler
from dmarcwatch.store import blobs
from dmarcwatch.store.db import key, table
from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml
from tests.support.worker import drain_ingest_queue


def _ingest(tenant: Tenant, domain: str, report_id: str, org: str = "google.com") -> pipeline.IngestOutcome:
    xml = aggregate_xml(domain, [Row("192.0.2.1", 2)], report_id=report_id, org=org)
    object_key = f"inbound/api/{tenant.account_id}/live/{uuid.uuid4().hex}"
    blobs.put_raw(object_key, xml, {"source": "api-upload"})
    return pipeline.ingest_object(object_key, only=tenant)


def _total(client: TestClient, account: ApiAccount, **params: str) -> int:
    response = client.get("/v1/reports", headers=account.headers(), params={"limit": 1, **params})
    assert response.status_code == 200, response.text
    return int(response.json()["meta"]["total_count"])


def test_total_count_unfiltered_and_filtered(client: TestClient, account: ApiAccount) -> None:
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["a.example", "b.example"]})
    for i in range(3):
        _ingest(tenant, "a.example", f"a-{i}")
    _ingest(tenant, "b.example", "b-0", org="yahoo.com")
    assert _ingest(tenant, "a.example", "a-0").duplicates  # a duplicate: not counted twice
    assert _total(client, account) == 4
    assert _total(client, account, domain_id="a.example") == 3
    assert _total(client, account, sender_org="yahoo") == 1
    assert _total(client, account, received_after=(utcnow() - timedelta(minutes=5)).isoformat()) == 4
    assert _total(client, account, received_before=(utcnow() - timedelta(minutes=5)).isoformat()) == 0
    assert _total(client, account, start_date="2030-01-01") == 0

    client.delete("/v1/domains/a.example", headers=account.headers(), params={"purge": "true"})
    drain_ingest_queue()
    assert _total(client, account) == 1


def test_the_reconciliation_mends_a_drifted_report_count(client: TestClient, account: ApiAccount) -> None:
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    client.post("/v1/domains", headers=account.headers(), json={"domain": "a.example"})
    _ingest(tenant, "a.example", "r-1")
    table().update_item(
        Key=key(t.tenant_pk(account.id, "live"), t.TENANT_META_SK),
        UpdateExpression="SET report_count = :n",
        ExpressionAttributeValues={":n": 9},
    )
    assert _total(client, account) == 9
    reconciler.reconcile_tenant(tenant)
    assert _total(client, account) == 1
