"""Scheduled rescans end to end over moto and a real knotd: dispatcher -> scan queue -> scanner handler.

The domain's zone is served by a knotd of this test; "changing DNS" is serving a new version of the
zone from a second server and pointing the resolver settings at it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.scanning import rescans
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.services import admin, domains
from dmarcwatch.services.domains import DomainFilter
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import scans
from dmarcwatch.store.events import recent_events
from tests.integration.scanning_support import V1, V2, drain, run_scanner
from tests.integration.scanning_support import scan_queue_fixture as scan_queue_fixture
from tests.integration.scanning_support import serve_fixture as serve_fixture


def make_due(tenant: Tenant) -> None:
    domain = domains.resolve(tenant, "change.test")
    scans.schedule(tenant, domain, utcnow() - timedelta(seconds=1))


def history(tenant: Tenant) -> list[scans.ChangeRow]:
    domain = domains.resolve(tenant, "change.test")
    return scans.list_changes(tenant, domain.id, limit=50, before=None)[0]


def test_rescans_record_changes_only_when_dns_changed(
    scan_queue: str, serve: Callable[[dict[str, object]], None]
) -> None:
    serve(V1)
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["change.test"])
    # Adding the domain queued its first scan.
    assert run_scanner(scan_queue) == 1
    first = scans.latest(tenant, domains.resolve(tenant, "change.test").id)
    assert first is not None
    assert first.result["dmarc_policy_p"] == "none"
    assert history(tenant) == []

    # Not due yet: the dispatcher queues nothing (pro plan: every 6 hours).
    assert rescans.dispatch_due().queued == 0
    make_due(tenant)
    assert rescans.dispatch_due().queued == 1
    assert rescans.dispatch_due().queued == 0  # leased while queued
    assert run_scanner(scan_queue) == 1
    assert history(tenant) == []  # unchanged DNS, no history

    serve(V2)
    make_due(tenant)
    assert rescans.dispatch_due().queued == 1
    assert run_scanner(scan_queue) == 1
    changed = {row.field: (row.old, row.new) for row in history(tenant)}
    assert set(changed) >= {"mx", "spf", "dmarc", "dmarc_policy_p"}
    assert changed["dmarc_policy_p"] == ("none", "reject")
    assert "mx2.change.test" in (changed["mx"][1] or "")
    latest = scans.latest(tenant, domains.resolve(tenant, "change.test").id)
    assert latest is not None
    assert latest.previous["dmarc_policy_p"]["value"] == "none"
    kinds = [e.payload.type for e in recent_events(tenant.account_id, "live")]
    assert kinds.count("dns.changed") == len(changed)
    assert kinds.count("domain.scan.completed") == 3
    # The list filters see the new policy.
    page = domains.list_domains(tenant, limit=10, after=None, filters=DomainFilter(dmarc_status="reject"))
    assert [d.name for d in page.items] == ["change.test"]


def test_deactivated_domains_leave_the_schedule(
    scan_queue: str, serve: Callable[[dict[str, object]], None]
) -> None:
    serve(V1)
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.FREE, None, 365)
    tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(tenant, get_plan(PlanName.FREE), ["change.test"])
    run_scanner(scan_queue)
    domains.set_status(tenant, "change.test", domains.DomainStatus.INACTIVE)
    assert rescans.dispatch_due(utcnow() + timedelta(days=30)).queued == 0
    domains.set_status(tenant, "change.test", domains.DomainStatus.ACTIVE)
    assert run_scanner(scan_queue) == 1  # activation queues a scan at once


def test_scan_messages_for_deleted_domains_are_dropped(
    scan_queue: str, serve: Callable[[dict[str, object]], None]
) -> None:
    serve(V1)
    body = json.dumps({"account_id": "acct_gone", "environment": "live", "domain": "change.test"})
    aws_clients.client("sqs").send_message(QueueUrl=scan_queue, MessageBody=body)
    assert run_scanner(scan_queue) == 1


def test_dispatcher_pages_through_every_due_domain_once(
    scan_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    names = [f"d{i}.change.test" for i in range(7)]
    domains.add_domains(tenant, get_plan(PlanName.PRO), names)
    # Adding queued them, leased for an hour; those messages are lost, and once the lease is over the
    # dispatcher queues each due domain exactly once.
    drain(scan_queue)
    for name in names:
        scans.schedule(tenant, domains.resolve(tenant, name), utcnow() - timedelta(seconds=1))
    later = utcnow() + QUEUED_LEASE + timedelta(minutes=1)
    monkeypatch.setattr(rescans, "PAGE", 2)
    assert rescans.dispatch_due(later).queued == 7
    assert sorted(m["domain"] for m in drain(scan_queue)) == sorted(names)
    assert rescans.dispatch_due(later).queued == 0
