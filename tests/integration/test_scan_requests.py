"""Scan requests cannot flood the shared scanner (review M2) and the dispatcher works in batches and skips
canceled accounts (review L5). Over moto, with the scanner fed from the local scan queue and the domains
served by a knotd of the test (tests/integration/test_scheduled_rescans.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from dmarcwatch import table as t
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PLANS, PlanName, get_plan
from dmarcwatch.scanning import on_demand, queueing, rescans, service
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest, round_robin
from dmarcwatch.services import admin, domains
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import db, scans
from tests.integration.scanning_support import V1, drain, run_scanner
from tests.integration.scanning_support import scan_queue_fixture as scan_queue_fixture
from tests.integration.scanning_support import serve_fixture as serve_fixture


def set_budget(monkeypatch: pytest.MonkeyPatch, scans_per_hour: int, plan: PlanName = PlanName.PRO) -> None:
    """Give the plan another hourly scan budget for this test."""
    changed = PLANS[plan].model_copy(update={"requested_scans_per_hour": scans_per_hour})
    monkeypatch.setitem(PLANS, plan, changed)


def new_tenant(plan: PlanName = PlanName.PRO) -> Tenant:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", plan, None, 365)
    return Tenant(account_id=created.account.id, environment=Environment.LIVE)


def domain_item(tenant: Tenant, name: str) -> dict[str, Any]:
    item = db.table().get_item(
        Key=db.key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)), ConsistentRead=True
    )["Item"]
    return dict(item)


def make_due(tenant: Tenant, names: list[str], at: datetime) -> None:
    for name in names:
        scans.schedule(tenant, domains.resolve(tenant, name), at)


@pytest.fixture
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations sent through the table resource and the low-level client."""
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    emitters = [
        aws_clients.client("dynamodb").meta.events,
        aws_clients.resource("dynamodb").meta.client.meta.events,
    ]
    for emitter in emitters:
        emitter.register("before-call.dynamodb", count)
    yield calls
    for emitter in emitters:
        emitter.unregister("before-call.dynamodb", count)


# --- queue leases (M2 b) -----------------------------------------------------------------------------------


def test_a_domain_is_queued_once_while_its_request_waits(
    scan_queue: str, serve: Callable[[dict[str, object]], None]
) -> None:
    serve(V1)
    tenant = new_tenant()
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["change.test"])
    domain = domains.resolve(tenant, "change.test")
    assert domain_item(tenant, "change.test")["queued_until"] > db.ts(utcnow())
    # A refresh, a second request and a re-activation while the first request waits queue nothing.
    assert service.request_scans(tenant, [domain]) == 0
    refreshed = on_demand.refresh(tenant, domain, utcnow())
    assert refreshed == on_demand.Refresh(False, on_demand.NotQueued.ALREADY_QUEUED)
    domains.set_status(tenant, "change.test", domains.DomainStatus.INACTIVE)
    assert "gsi2pk" not in domain_item(tenant, "change.test")
    domains.set_status(tenant, "change.test", domains.DomainStatus.ACTIVE)
    assert [(m["domain"], m["origin"]) for m in drain(scan_queue)] == [("change.test", "request")]
    # Active again while its request waits: scheduled again too, in case that request is lost.
    assert "gsi2pk" in domain_item(tenant, "change.test")


def test_recording_the_scan_ends_the_lease(
    scan_queue: str, serve: Callable[[dict[str, object]], None]
) -> None:
    serve(V1)
    tenant = new_tenant()
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["change.test"])
    assert run_scanner(scan_queue) == 1
    assert "queued_until" not in domain_item(tenant, "change.test")
    assert service.request_scans(tenant, [domains.resolve(tenant, "change.test")]) == 1


# --- the hourly budget (M2 b) ------------------------------------------------------------------------------


def test_a_bulk_add_beyond_the_hourly_budget_is_left_to_the_next_hours_schedule(
    scan_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_budget(monkeypatch, 3)
    tenant = new_tenant()
    names = [f"d{i}.change.test" for i in range(5)]
    added = domains.add_domains(tenant, get_plan(PlanName.PRO), names)
    queued = [m["domain"] for m in drain(scan_queue)]
    assert len(queued) == 3
    assert added.scans_queued == 3  # what POST /v1/domains reports as scans_queued
    left = sorted(set(names) - set(queued))
    next_hour = queueing.next_hour(utcnow())
    for name in left:
        item = domain_item(tenant, name)
        assert "queued_until" not in item
        assert item["next_scan_at"] == db.ts(next_hour)
    # The budget is spent: an on-demand scan or refresh is refused until the next hour.
    for ask, name in ((on_demand.refresh, left[0]), (on_demand.scan_now, left[1])):
        with pytest.raises(ApiError) as refused:
            ask(tenant, domains.resolve(tenant, name), utcnow())
        assert refused.value.code is ErrorCode.QUOTA_EXCEEDED
        assert 0 < int(refused.value.headers["Retry-After"]) <= 3600


def test_a_large_bulk_add_queues_a_minutes_worth_and_schedules_the_rest_due_at_once(
    scan_queue: str,
) -> None:
    tenant = new_tenant(PlanName.ENTERPRISE)
    names = [f"bulk{i:02}.change.test" for i in range(queueing.SCANS_QUEUED_PER_CALL + 15)]
    before = utcnow()
    added = domains.add_domains(tenant, get_plan(PlanName.ENTERPRISE), names)
    queued = {m["domain"] for m in drain(scan_queue)}
    assert len(queued) == queueing.SCANS_QUEUED_PER_CALL == added.scans_queued
    for name in set(names) - queued:
        item = domain_item(tenant, name)
        assert "queued_until" not in item
        assert item["next_scan_at"] <= db.ts(utcnow())
        assert item["next_scan_at"] >= db.ts(before)
        assert item["gsi2pk"].startswith("SCANDUE#")
    # The dispatcher's next run queues the rest (each once: the queued ones are leased).
    rescans.dispatch_due(utcnow() + timedelta(seconds=1))
    assert {m["domain"] for m in drain(scan_queue)} == set(names) - queued


def test_the_budget_is_per_tenant(scan_queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    set_budget(monkeypatch, 1)
    first, second = new_tenant(), new_tenant()
    domains.add_domains(first, get_plan(PlanName.PRO), ["a.change.test", "b.change.test"])
    domains.add_domains(second, get_plan(PlanName.PRO), ["a.change.test"])
    assert sorted((m["account_id"] == first.account_id, m["domain"]) for m in drain(scan_queue)) == [
        (False, "a.change.test"),
        (True, "a.change.test"),
    ]


def test_the_budget_grows_with_the_plan_and_covers_a_bulk_add_of_the_allowance() -> None:
    budgets = [get_plan(name).requested_scans_per_hour for name in PlanName]
    assert budgets == sorted(budgets)
    for name in (PlanName.FREE, PlanName.PRO):
        assert get_plan(name).requested_scans_per_hour >= 2 * get_plan(name).domains_allowed


# --- the scanner's per-account rate and fairness (M2 d) ---------------------------------------------------


def test_the_scanner_hands_a_burst_of_one_tenants_requests_back_to_the_schedule(
    scan_queue: str, serve: Callable[[dict[str, object]], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(V1)
    monkeypatch.setattr(queueing, "REQUESTED_SCANS_PER_MINUTE", 2)
    pinned = utcnow()  # one minute window for the scanner's per-account rate, whatever the test takes
    monkeypatch.setattr(service, "utcnow", lambda: pinned)
    tenant = new_tenant()
    names = [f"d{i}.change.test" for i in range(4)]
    domains.add_domains(tenant, get_plan(PlanName.PRO), names)
    assert run_scanner(scan_queue) == 4
    scanned = [n for n in names if scans.latest(tenant, domains.resolve(tenant, n).id) is not None]
    handed_back = sorted(set(names) - set(scanned))
    assert len(scanned) == 2
    for name in handed_back:
        item = domain_item(tenant, name)
        assert "queued_until" not in item
        assert item["next_scan_at"] == db.ts(pinned)
    # The dispatcher queues them as scheduled scans, which the scanner runs.
    dispatched = rescans.dispatch_due(utcnow() + timedelta(minutes=1))
    assert dispatched.queued == 2
    assert run_scanner(scan_queue) == 2
    assert all(scans.latest(tenant, domains.resolve(tenant, n).id) is not None for n in handed_back)


def test_round_robin_takes_one_request_of_each_account_in_turn() -> None:
    def requests(account: str, count: int) -> list[ScanRequest]:
        tenant = Tenant(account_id=account, environment=Environment.LIVE)
        return [ScanRequest.of(tenant, f"{account}{i}.test", ScanOrigin.SCHEDULE) for i in range(count)]

    ordered = round_robin(requests("a", 4) + requests("b", 1) + requests("c", 2))
    assert [r.domain for r in ordered] == [
        "a0.test",
        "b0.test",
        "c0.test",
        "a1.test",
        "c1.test",
        "a2.test",
        "a3.test",
    ]


def test_the_dispatcher_interleaves_accounts(scan_queue: str) -> None:
    big, small = new_tenant(), new_tenant()
    big_names = [f"big{i}.change.test" for i in range(6)]
    small_names = ["small0.change.test", "small1.change.test"]
    domains.add_domains(big, get_plan(PlanName.PRO), big_names)
    domains.add_domains(small, get_plan(PlanName.PRO), small_names)
    drain(scan_queue)
    later = utcnow() + QUEUED_LEASE + timedelta(minutes=1)
    make_due(big, big_names, later - timedelta(minutes=2))
    make_due(small, small_names, later - timedelta(minutes=1))  # due after all of the big account's
    assert rescans.dispatch_due(later).queued == 8
    order = ["big" if m["account_id"] == big.account_id else "small" for m in drain(scan_queue)]
    # The small account's two scans come among the first four, not after the big account's six.
    assert order[:4] in (["big", "small", "big", "small"], ["small", "big", "small", "big"])


# --- the dispatcher (L5) -----------------------------------------------------------------------------------


def test_the_dispatcher_skips_canceled_accounts_and_looks_again_a_day_later(scan_queue: str) -> None:
    paying, canceled = new_tenant(), new_tenant()
    domains.add_domains(paying, get_plan(PlanName.PRO), ["paying.change.test"])
    domains.add_domains(canceled, get_plan(PlanName.PRO), ["canceled.change.test"])
    drain(scan_queue)
    account_store.set_subscription_status(canceled.account_id, "canceled")
    later = utcnow() + QUEUED_LEASE + timedelta(minutes=1)
    make_due(paying, ["paying.change.test"], later - timedelta(minutes=1))
    make_due(canceled, ["canceled.change.test"], later - timedelta(minutes=1))
    outcome = rescans.dispatch_due(later)
    assert (outcome.queued, outcome.canceled) == (1, 1)
    assert [m["domain"] for m in drain(scan_queue)] == ["paying.change.test"]
    item = domain_item(canceled, "canceled.change.test")
    assert item["next_scan_at"] == db.ts(later + rescans.CANCELED_RECHECK)
    assert item["queued_until"] < db.ts(later)  # only the (expired) lease of its first scan


def test_the_dispatcher_reads_accounts_in_a_batch_and_no_domain_one_by_one(
    scan_queue: str, dynamodb_calls: list[str]
) -> None:
    first, second = new_tenant(), new_tenant()
    names = [f"n{i}.change.test" for i in range(5)]
    domains.add_domains(first, get_plan(PlanName.PRO), names)
    domains.add_domains(second, get_plan(PlanName.PRO), names[:2])
    drain(scan_queue)
    later = utcnow() + QUEUED_LEASE + timedelta(minutes=1)
    make_due(first, names, later - timedelta(minutes=1))
    make_due(second, names[:2], later - timedelta(minutes=1))
    dynamodb_calls.clear()
    assert rescans.dispatch_due(later).queued == 7
    counts = {name: dynamodb_calls.count(name) for name in set(dynamodb_calls)}
    assert counts.get("GetItem", 0) == 0
    assert 1 <= counts["BatchGetItem"] <= 8  # at most one per page that brings new accounts
    assert counts["UpdateItem"] == 7  # the leases
    assert counts["Query"] == 8  # one page per shard
