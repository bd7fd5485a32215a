"""Removed domains (seed 002's `removed`): out of lists, counts, dashboard and scans at once, their data
readable for 30 days, restored with their history by adding the name again, purged by the reconciler
after 30 days (or at once with `purge=true`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName
from dmarcwatch.services import reconciler
from dmarcwatch.store import domains as domain_store
from tests.integration.conftest import ApiAccount
from tests.support.worker import drain_ingest_queue


def _names(client: TestClient, account: ApiAccount, **params: object) -> list[str]:
    body = client.get("/v1/domains", headers=account.headers(), params={"limit": 100, **params}).json()
    return [d["domain"] for d in body["data"]]


def test_a_removed_domain_leaves_lists_counts_and_the_dashboard(
    client: TestClient, account: ApiAccount
) -> None:
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": ["a.example", "b.example"]})
    folder = client.post("/v1/folders", headers=headers, json={"name": "F"}).json()["data"]["id"]
    client.patch(
        "/v1/domains/a.example",
        headers=headers,
        json={"folder_id": folder, "tags": ["eu"], "is_favorite": True},
    )

    deleted = client.delete("/v1/domains/a.example", headers=headers).json()["data"]
    assert (deleted["status"], deleted["deleted"]) == ("removed", True)
    assert deleted["restorable_until"] > utcnow().isoformat()
    assert _names(client, account) == ["b.example"]
    assert _names(client, account, tag="eu") == []
    assert _names(client, account, is_favorite=True) == []
    assert _names(client, account, status="removed") == ["a.example"]
    listed = client.get("/v1/domains", headers=headers).json()["meta"]
    assert listed["total_count"] == 1
    assert client.get("/v1/folders", headers=headers).json()["data"][0]["domain_count"] == 0
    assert client.get("/v1/tags", headers=headers).json()["data"] == []
    assert client.get("/v1/dashboard/summary", headers=headers).json()["data"]["total_domains"] == 1
    assert client.get("/v1/account", headers=headers).json()["data"]["usage"]["domains"] == 1
    # Readable, but not changeable.
    assert client.get("/v1/domains/a.example", headers=headers).json()["data"]["status"] == "removed"
    assert client.get("/v1/domains/a.example/stats", headers=headers).status_code == 200
    for method, path in (
        ("POST", "/v1/domains/a.example/scan"),
        ("POST", "/v1/domains/a.example/activate"),
        ("POST", "/v1/domains/a.example/verify"),
    ):
        refused = client.request(method, path, headers=headers)
        assert refused.status_code == 404, path
        assert "add it again" in refused.json()["error"]["message"]
    assert client.patch("/v1/domains/a.example", headers=headers, json={"notes": "x"}).status_code == 404
    # Deleting it again is idempotent.
    assert client.delete("/v1/domains/a.example", headers=headers).json()["data"]["status"] == "removed"


def test_adding_a_removed_name_restores_it_with_its_history(client: TestClient, account: ApiAccount) -> None:
    headers = account.headers()
    first = client.post("/v1/domains", headers=headers, json={"domain": "a.example"}).json()["data"]
    folder = client.post("/v1/folders", headers=headers, json={"name": "F"}).json()["data"]["id"]
    client.patch("/v1/domains/a.example", headers=headers, json={"folder_id": folder, "tags": ["eu"]})
    client.delete("/v1/domains/a.example", headers=headers)
    again = client.post("/v1/domains", headers=headers, json={"domains": ["a.example", "c.example"]})
    assert again.status_code == 201
    body = again.json()["data"]
    assert (body["added"], body["existing"]) == (2, 0)
    restored = client.get("/v1/domains/a.example", headers=headers).json()["data"]
    assert (restored["id"], restored["status"], restored["added_at"]) == (
        first["id"],
        "active",
        first["added_at"],
    )
    assert (restored["folder_id"], restored["tags"]) == (folder, ["eu"])
    assert _names(client, account, tag="eu") == ["a.example"]
    assert client.get("/v1/dashboard/summary", headers=headers).json()["data"]["total_domains"] == 2


def test_a_restore_counts_against_the_plan(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    account = make_account(PlanName.FREE)  # 5 domains
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": [f"d{i}.example" for i in range(5)]})
    client.delete("/v1/domains/d0.example", headers=headers)
    client.post("/v1/domains", headers=headers, json={"domain": "new.example"})
    refused = client.post("/v1/domains", headers=headers, json={"domain": "d0.example"})
    assert refused.status_code == 403
    assert client.get("/v1/domains/d0.example", headers=headers).json()["data"]["status"] == "removed"


def test_the_reconciler_purges_domains_removed_30_days_ago(client: TestClient, account: ApiAccount) -> None:
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": ["old.example", "recent.example"]})
    for name in ("old.example", "recent.example"):
        client.delete(f"/v1/domains/{name}", headers=headers)
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    outcome = reconciler.reconcile_tenant(tenant, utcnow() + timedelta(days=30, minutes=1))
    # Both were removed just now, so a run "30 days and a minute later" purges both; a run today none.
    assert outcome.purged == 2
    assert reconciler.reconcile_tenant(tenant).purged == 0
    assert domain_store.get_by_name(tenant, "old.example") is None
    drain_ingest_queue()
    assert client.get("/v1/domains/old.example", headers=headers).status_code == 404
    assert _names(client, account, status="removed") == []


def test_purging_a_removed_domain_does_not_count_it_out_twice(
    client: TestClient, account: ApiAccount
) -> None:
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": ["a.example", "b.example"]})
    client.delete("/v1/domains/a.example", headers=headers)
    assert client.get("/v1/account", headers=headers).json()["data"]["usage"]["domains"] == 1
    purged = client.delete("/v1/domains/a.example", headers=headers, params={"purge": "true"})
    assert purged.json()["data"]["status"] == "purged"
    assert client.get("/v1/account", headers=headers).json()["data"]["usage"]["domains"] == 1
    assert client.get("/v1/domains", headers=headers).json()["meta"]["total_count"] == 1
    assert client.get("/v1/dashboard/summary", headers=headers).json()["data"]["total_domains"] == 1
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    assert reconciler.reconcile_tenant(tenant).counters_corrected == 0
