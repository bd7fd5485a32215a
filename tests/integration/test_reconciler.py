"""The nightly reconciliation: it repairs drifted counters, missing and stray facet members (domains stored
before the facet index: the backfill), leaves a consistent tenant untouched, and never undoes a write
made while it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from dmarcwatch import table as t
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.services import reconciler
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store.db import key, table
from tests.integration.conftest import ApiAccount


class Context:
    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = "reconciler"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:reconciler"
        self.aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _setup(client: TestClient, account: ApiAccount) -> tuple[Tenant, str]:
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": ["a.example", "b.example", "c.example"]})
    folder = client.post("/v1/folders", headers=headers, json={"name": "F"}).json()["data"]["id"]
    client.post(
        "/v1/domains/bulk-update",
        headers=headers,
        json={"ids": ["a.example", "b.example"], "folder_id": folder},
    )
    client.patch("/v1/domains/a.example", headers=headers, json={"tags": ["eu"], "is_favorite": True})
    return Tenant(account_id=account.id, environment=Environment.LIVE), folder


def _state(tenant: Tenant) -> tuple[dict[str, Any], dict[str, set[str]]]:
    counters = facet_store.all_counters(tenant)
    members = {facet: facet_store.all_members(tenant, facet) for facet in counters if facet != "all"}
    return counters, members


def test_a_consistent_tenant_is_left_as_it_is(client: TestClient, account: ApiAccount) -> None:
    tenant, _ = _setup(client, account)
    before = _state(tenant)
    outcome = reconciler.reconcile_tenant(tenant)
    assert (outcome.counters_corrected, outcome.members_added, outcome.members_dropped) == (0, 0, 0)
    # Zero counters left by moves are tidied away, nothing else changes.
    after = _state(tenant)
    assert after[1] == before[1]
    assert {f: {n: v for n, v in c.items() if v} for f, c in before[0].items()} == after[0]


def test_drift_and_missing_members_are_repaired(client: TestClient, account: ApiAccount) -> None:
    tenant, folder = _setup(client, account)
    good = _state(tenant)
    pk = t.tenant_pk(tenant.account_id, tenant.environment)
    # Drift: a wrong count, a stray member, a missing member (as for a domain stored before the index).
    table().update_item(
        Key=key(pk, t.facet_count_sk(f"folder:{folder}")), UpdateExpression="ADD domains :d",
        ExpressionAttributeValues={":d": 5},
    )  # fmt: skip
    table().put_item(
        Item={**key(t.facet_pk(tenant.account_id, "live", "tag:eu"), "c.example"), "domain_id": "x"}
    )
    table().delete_item(Key=key(t.facet_pk(tenant.account_id, "live", "favorite:true"), "a.example"))
    table().delete_item(Key=key(pk, t.facet_count_sk("status:active")))
    table().update_item(
        Key=key(pk, t.TENANT_META_SK),
        UpdateExpression="SET domain_count = :n",
        ExpressionAttributeValues={":n": 1},
    )
    summary_before = client.get(
        "/v1/dashboard/summary", headers=account.headers(), params={"folder_id": folder}
    )
    assert summary_before.json()["data"]["total_domains"] == 7

    outcome = reconciler.reconcile_tenant(tenant)
    assert outcome.counters_corrected >= 2
    assert (outcome.members_added, outcome.members_dropped) == (1, 1)
    repaired = _state(tenant)
    assert repaired[1] == good[1]
    assert {f: {n: v for n, v in c.items() if v} for f, c in good[0].items()} == repaired[0]
    summary = client.get("/v1/dashboard/summary", headers=account.headers(), params={"folder_id": folder})
    assert summary.json()["data"]["total_domains"] == 2
    assert client.get("/v1/account", headers=account.headers()).json()["data"]["usage"]["domains"] == 3
    listed = client.get("/v1/domains", headers=account.headers(), params={"is_favorite": True}).json()
    assert [d["domain"] for d in listed["data"]] == ["a.example"]


def test_a_write_while_reading_skips_the_tenant(
    client: TestClient, account: ApiAccount, monkeypatch: Any
) -> None:
    tenant, _ = _setup(client, account)
    real = reconciler.domain_store.all_domains

    def read_then_change(t: Tenant) -> Any:
        found = real(t)
        client.patch("/v1/domains/c.example", headers=account.headers(), json={"tags": ["late"]})
        return found

    monkeypatch.setattr(reconciler.domain_store, "all_domains", read_then_change)
    outcome = reconciler.reconcile_tenant(tenant)
    assert outcome.skipped_busy
    tags = client.get("/v1/tags", headers=account.headers()).json()["data"]
    assert {"tag": "late", "count": 1} in tags


def test_the_handler_reconciles_each_tenant_once_a_day_within_its_time(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    first, second = make_account(), make_account()
    _setup(client, first)
    answer = reconciler.handler({}, Context())
    # Every environment of every account (other tests' accounts live in other tables).
    assert answer["reconciled"] == 4
    assert reconciler.handler({}, Context())["reconciled"] == 0  # done for today
    assert second.id
    assert reconciler.handler({}, Context(remaining_ms=1_000))["reconciled"] == 0
