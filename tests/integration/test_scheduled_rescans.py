"""Scheduled rescans end to end over moto and a real knotd: dispatcher -> scan queue -> scanner handler.

The domain's zone is served by a knotd of this test; "changing DNS" is serving a new version of the
zone from a second server and pointing the resolver settings at it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dmarcwatch.config import get_settings
from dmarcwatch.local.bootstrap import bootstrap_scanning
from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.scanning import dispatcher
from dmarcwatch.scanning.worker import handler as scanner_handler
from dmarcwatch.services import admin, domains
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import scans
from dmarcwatch.store.events import recent_events
from tests.dns.knot import KnotServer, find_knotd

ZONE = """$ORIGIN change.test.
$TTL 300
@   SOA  ns1.change.test. hostmaster.change.test. {serial} 3600 600 86400 300
@   NS   ns1.change.test.
ns1 A    127.0.0.1
@   MX   10 {mx}.change.test.
mx1 A    192.0.2.25
mx2 A    192.0.2.26
@   TXT  "v=spf1 {spf} -all"
_dmarc TXT "v=DMARC1; p={policy}; rua=mailto:dmarc@change.test"
"""
V1 = {"serial": 2026010101, "mx": "mx1", "spf": "ip4:192.0.2.0/24", "policy": "none"}
V2 = {"serial": 2026010102, "mx": "mx2", "spf": "ip4:192.0.2.0/24 ip4:198.51.100.0/24", "policy": "reject"}


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, object]], None]]:
    if find_knotd() is None:
        pytest.skip("knotd is not installed: `make test` installs the Debian package `knot`")
    servers: list[KnotServer] = []

    def serve_version(values: dict[str, object]) -> None:
        for server in servers:
            server.stop()
        zones = tmp_path / f"zones-{len(servers)}"
        zones.mkdir()
        (zones / "change.test.zone").write_text(ZONE.format(**values))
        server = KnotServer(tmp_path / f"knot-{len(servers)}", zones_dir=zones)
        server.start()
        servers.append(server)
        monkeypatch.setenv("DMARCWATCH_DNS_PORT", str(server.port))
        get_settings.cache_clear()

    yield serve_version
    for server in servers:
        server.stop()
    get_settings.cache_clear()


@pytest.fixture
def scan_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    url = bootstrap_scanning()
    monkeypatch.setenv("DMARCWATCH_SCAN_QUEUE_URL", url)
    get_settings.cache_clear()
    return url


def run_scanner(queue_url: str) -> int:
    """What the Lambda event source does: deliver queued messages to the scanner handler."""
    sqs = aws_clients.client("sqs")
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return handled
        response = scanner_handler(
            sqs_event(messages, "arn:aws:sqs:local:0:scan"), LocalLambdaContext("scanner")
        )
        assert response["batchItemFailures"] == []
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        handled += len(messages)


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
    assert dispatcher.dispatch_due() == 0
    make_due(tenant)
    assert dispatcher.dispatch_due() == 1
    assert dispatcher.dispatch_due() == 0  # leased while queued
    assert run_scanner(scan_queue) == 1
    assert history(tenant) == []  # unchanged DNS, no history

    serve(V2)
    make_due(tenant)
    assert dispatcher.dispatch_due() == 1
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
    page = domains.list_domains(tenant, limit=10, search=None, after=None, dmarc_status="reject")
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
    assert dispatcher.dispatch_due(utcnow() + timedelta(days=30)) == 0
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
    sqs = aws_clients.client("sqs")
    sqs.purge_queue(QueueUrl=scan_queue)
    for name in names:
        scans.schedule(tenant, domains.resolve(tenant, name), utcnow() - timedelta(seconds=1))
    monkeypatch.setattr(dispatcher, "PAGE", 2)
    assert dispatcher.dispatch_due() == 7
    queued: list[str] = []
    while messages := sqs.receive_message(QueueUrl=scan_queue, MaxNumberOfMessages=10).get("Messages", []):
        queued += [json.loads(m["Body"])["domain"] for m in messages]
        sqs.delete_message_batch(
            QueueUrl=scan_queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    assert sorted(queued) == sorted(names)
    assert dispatcher.dispatch_due() == 0
