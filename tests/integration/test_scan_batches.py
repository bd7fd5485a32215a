"""The scanner's batches and rescans over moto and the fixture knotd: a queue batch is scanned together on
one resolver, each message succeeds or fails alone, and a rescan asks the DKIM selectors it knows (the
common list weekly, or when the tenant asked)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from dmarcwatch.dns.dkim import selector_table
from dmarcwatch.dns.plan import COMMON_PROBE_INTERVAL
from dmarcwatch.dns.result import ScanResult
from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.scanning import service
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest
from dmarcwatch.scanning.service import ScanRun, run_scan_requests, scan_and_record
from dmarcwatch.scanning.worker import handler as scanner_handler
from dmarcwatch.services import admin, domains
from dmarcwatch.store import scans as scan_store
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests

pytestmark = pytest.mark.usefixtures("dns_server")
COMMON = list(selector_table())
ACME_KEYS = ["google", "selector1", "k1", "s1", "acme2024"]


@pytest.fixture
def tenant(aws: None) -> Tenant:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    return Tenant(account_id=created.account.id, environment=Environment.LIVE)


def scheduled(tenant: Tenant, name: str) -> ScanResult:
    [outcome] = run_scan_requests([ScanRequest.of(tenant, name, ScanOrigin.SCHEDULE)])
    assert not isinstance(outcome, Exception)
    run, recorded = outcome
    assert run is ScanRun.SCANNED
    assert recorded is not None
    assert recorded.recorded
    assert recorded.changes == []
    return recorded.result


def test_rescans_ask_the_known_selectors_and_the_common_list_weekly(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["acme.test"])
    domain = domains.resolve(tenant, "acme.test")
    scan_store.add_dkim_selectors(tenant, domain.id, {"acme2024"}, at=utcnow() - timedelta(days=1))
    first = scan_and_record(tenant, domain).result
    assert first.dkim_selectors_checked == [*COMMON, "acme2024"]
    assert first.dkim_common_probed_at == first.scanned_at

    # A scheduled rescan: only the selectors whose keys were found (the reported one among them).
    rescan = scheduled(tenant, "acme.test")
    assert sorted(rescan.dkim_selectors_checked) == sorted(ACME_KEYS)
    assert [key.selector for key in rescan.dkim_selectors_found] == [
        k.selector for k in first.dkim_selectors_found
    ]
    assert rescan.dkim_common_probed_at == first.scanned_at
    assert rescan.queries_sent < first.queries_sent - 40

    # A week after the probe, the common list again.
    later = utcnow() + COMMON_PROBE_INTERVAL
    monkeypatch.setattr(service, "utcnow", lambda: later)
    weekly = scheduled(tenant, "acme.test")
    assert set(COMMON) <= set(weekly.dkim_selectors_checked)
    assert weekly.dkim_common_probed_at == weekly.scanned_at


def test_a_scan_the_tenant_asked_for_asks_the_common_list(tenant: Tenant) -> None:
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["corp-a.test"])
    domain = domains.resolve(tenant, "corp-a.test")
    scan_and_record(tenant, domain)
    assert scheduled(tenant, "corp-a.test").dkim_selectors_checked == ["google"]
    [outcome] = run_scan_requests([ScanRequest.of(tenant, "corp-a.test", ScanOrigin.REQUEST)])
    assert not isinstance(outcome, Exception)
    assert outcome[1] is not None
    assert outcome[1].result.dkim_selectors_checked == COMMON


def message(body: Any) -> dict[str, str]:
    return {"MessageId": uuid.uuid4().hex, "ReceiptHandle": uuid.uuid4().hex, "Body": json.dumps(body)}


def test_a_batch_is_scanned_together_and_each_message_fails_alone(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["acme.test", "corp-a.test", "corp-b.test"]
    domains.add_domains(tenant, get_plan(PlanName.PRO), names)
    resolvers: list[object] = []
    build = service.build_resolver

    def counted() -> Any:
        resolvers.append(build())
        return resolvers[-1]

    monkeypatch.setattr(service, "build_resolver", counted)
    good = [message(ScanRequest.of(tenant, name, ScanOrigin.SCHEDULE).message()) for name in names]
    gone = message(ScanRequest.of(tenant, "deleted.test", ScanOrigin.SCHEDULE).message())
    broken = message({"domain": "no account"})
    response = scanner_handler(
        sqs_event([good[0], broken, good[1], gone, good[2]], "arn:aws:sqs:local:0:scan"),
        LocalLambdaContext("scanner"),
    )
    assert response["batchItemFailures"] == [{"itemIdentifier": broken["MessageId"]}]
    assert len(resolvers) == 1
    for name in names:
        latest = scan_store.latest(tenant, domains.resolve(tenant, name).id)
        assert latest is not None
        assert latest.result["errors"] == []
