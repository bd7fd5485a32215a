"""GET /v1/events (the event log: newest first, type filter, cursor, per tenant) and GET /v1/events/types."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from dmarcwatch.events import EventType
from dmarcwatch.ingest import pipeline
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store import blobs
from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml


def _ingest(tenant: Tenant, domain: str, report_id: str) -> None:
    key = f"inbound/api/{tenant.account_id}/{tenant.environment.value}/{uuid.uuid4().hex}"
    blobs.put_raw(
        key, aggregate_xml(domain, [Row("192.0.2.1", 3)], report_id=report_id), {"source": "api-upload"}
    )
    pipeline.ingest_object(key, only=tenant)


def _events(client: TestClient, account: ApiAccount, env: str = "live", **params: str) -> list[dict]:  # type: ignore[type-arg]
    found: list[dict] = []  # type: ignore[type-arg]
    cursor = None
    while True:
        query = {"limit": "2", **params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/events", headers=account.headers(env), params=query)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        cursor = response.json()["meta"]["next_cursor"]
        if not cursor:
            return found


def test_the_log_lists_newest_first_filters_by_type_and_pages(
    client: TestClient, account: ApiAccount
) -> None:
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    client.post("/v1/domains", headers=account.headers(), json={"domain": "a.example"})
    for i in range(3):
        _ingest(tenant, "a.example", f"r-{i}")
    _ingest(tenant, "unmonitored.example", "q-1")  # quarantined
    everything = _events(client, account)
    # Newest first, to the second (events of one second in the order of their ids), each once.
    times = [e["created_at"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert sorted(e["type"] for e in everything) == ["report.quarantined"] + ["report.received"] * 3
    received_ids = {e["data"]["external_report_id"] for e in everything if e["type"] == "report.received"}
    assert received_ids == {"r-0", "r-1", "r-2"}
    assert len({e["id"] for e in everything}) == 4
    assert all(e["id"].startswith("evt_") and "type" not in e["data"] for e in everything)
    received = _events(client, account, type="report.received")
    assert [e["id"] for e in received] == [e["id"] for e in everything if e["type"] == "report.received"]
    assert _events(client, account, type="dns.changed") == []


def test_events_are_per_tenant_and_validated(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    client.post("/v1/domains", headers=account.headers(), json={"domain": "a.example"})
    _ingest(tenant, "a.example", "r-1")
    assert _events(client, other_account) == []
    assert _events(client, account, "test") == []
    assert client.get("/v1/events").status_code == 401
    bad = client.get("/v1/events", headers=account.headers(), params={"type": "nope"})
    assert bad.status_code == 400
    forged = client.get("/v1/events", headers=account.headers(), params={"cursor": "x.y"})
    assert forged.status_code == 400


def test_the_catalogue_has_every_type_with_the_schema_of_its_data(
    client: TestClient, account: ApiAccount
) -> None:
    response = client.get("/v1/events/types", headers=account.headers())
    assert response.status_code == 200
    catalogue = {entry["type"]: entry for entry in response.json()["data"]}
    assert set(catalogue) == {t.value for t in EventType}
    received = catalogue["report.received"]
    assert received["description"]
    assert {"report_id", "domain", "message_count"} <= set(received["schema"]["properties"])
    assert "type" not in received["schema"]["properties"]


def test_a_rare_type_answers_short_pages_with_a_cursor_until_found(
    client: TestClient, account: ApiAccount
) -> None:
    from datetime import timedelta

    from dmarcwatch.events import DnsChanged, DomainVerified, Event
    from dmarcwatch.ids import IdPrefix, new_id
    from dmarcwatch.models import utcnow
    from dmarcwatch.store import events as event_store
    from dmarcwatch.store.db import MAX_PAGES_PER_LIST

    now = utcnow()

    def put(payload: DnsChanged | DomainVerified, age: timedelta) -> None:
        event = Event(
            id=new_id(IdPrefix.EVENT),
            account_id=account.id,
            environment="live",
            created_at=now - age,
            payload=payload,
        )
        event_store.put_event(event)

    put(DnsChanged(domain_id="dom_x", domain="a.example", field="mx", old="a", new="b"), timedelta(hours=5))
    for i in range(25 * MAX_PAGES_PER_LIST + 10):
        put(DomainVerified(domain_id="dom_x", domain="a.example"), timedelta(seconds=i))
    first = client.get(
        "/v1/events", headers=account.headers(), params={"type": "dns.changed", "limit": 2}
    ).json()
    # The first request reads its bounded share of the log and answers short, with where to go on.
    assert first["data"] == []
    assert first["meta"]["next_cursor"]
    assert [e["data"]["new"] for e in _events(client, account, type="dns.changed")] == ["b"]
