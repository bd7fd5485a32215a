"""The shared address trusts only a fresh verification (review L1): one granted, or confirmed by a scan that
saw the token, within the last 30 days (`ingest.routing.VERIFICATION_TRUSTED_FOR`). Over moto, through
the ingestion pipeline, as tests/integration/test_ingest_pipeline.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from dmarcwatch import table as t
from dmarcwatch.config import get_settings
from dmarcwatch.ingest import pipeline, routing
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import admin, domains
from dmarcwatch.store import db
from dmarcwatch.store import domains as domain_store
from tests.support.reports import Row, aggregate_xml, deliver, report_mail

ROWS = [Row("192.0.2.1", 10), Row("198.51.100.9", 2, "fail", "fail", "quarantine")]
DAYS = timedelta(days=1)


def new_tenant(*names: str) -> Tenant:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(tenant, get_plan(PlanName.PRO), list(names))
    return tenant


def verify(tenant: Tenant, name: str, at: datetime, checked: datetime | None = None) -> None:
    """Verified at `at`; with `checked`, a scan last saw the token then."""
    update, values = "SET verified_at = :at", {":at": db.ts(at)}
    if checked is not None:
        update, values[":checked"] = f"{update}, verification_checked_at = :checked", db.ts(checked)
    db.table().update_item(
        Key=db.key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)),
        UpdateExpression=update,
        ExpressionAttributeValues=values,
    )


def shared_report(policy_domain: str) -> pipeline.IngestOutcome:
    shared = f"dmarc@{get_settings().reports_domain}"
    return pipeline.ingest_object(deliver(report_mail(shared, aggregate_xml(policy_domain, ROWS))))


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("verified_days_ago", "checked_days_ago", "trusted"),
    [
        (10, None, True),
        (31, None, False),
        # Verified long ago, and a scan saw the token since.
        (400, 29, True),
        (400, 31, False),
        # Both times count: the later one decides.
        (10, 400, True),
    ],
)
def test_a_shared_address_report_reaches_only_a_fresh_verification(
    verified_days_ago: int, checked_days_ago: int | None, trusted: bool
) -> None:
    owner = new_tenant("example.com")
    now = utcnow()
    checked = now - checked_days_ago * DAYS if checked_days_ago is not None else None
    verify(owner, "example.com", now - verified_days_ago * DAYS, checked)
    outcome = shared_report("example.com")
    if trusted:
        assert [(r.account_id, r.domain) for r in outcome.stored] == [(owner.account_id, "example.com")]
    else:
        assert outcome.stored == []
        assert [(q.reason, q.account_id) for q in outcome.quarantined] == [("no_account_for_address", None)]


@pytest.mark.usefixtures("aws")
def test_of_two_verified_tenants_only_the_fresh_one_gets_the_report() -> None:
    former, current = new_tenant("example.com"), new_tenant("example.com")
    now = utcnow()
    # The former owner's scans have failed to look (SERVFAIL) for two months: never withdrawn, not trusted.
    verify(former, "example.com", now - 400 * DAYS, now - 60 * DAYS)
    verify(current, "example.com", now - 2 * DAYS)
    assert [r.account_id for r in shared_report("example.com").stored] == [current.account_id]


@pytest.mark.usefixtures("aws")
def test_a_monitored_parent_counts_with_its_own_freshness() -> None:
    owner = new_tenant("example.org")
    verify(owner, "example.org", utcnow() - 3 * DAYS)
    assert [(r.account_id, r.domain) for r in shared_report("mail.example.org").stored] == [
        (owner.account_id, "example.org")
    ]
    verify(owner, "example.org", utcnow() - 31 * DAYS)
    assert shared_report("mail.example.org").stored == []


@pytest.mark.usefixtures("aws")
def test_the_window_is_thirty_days_inclusive() -> None:
    owner = new_tenant("example.com")
    at = utcnow() - 40 * DAYS
    verify(owner, "example.com", at)
    assert routing.VERIFICATION_TRUSTED_FOR == 30 * DAYS
    assert routing.shared_tenants("example.com", at + 30 * DAYS) == [owner]
    assert routing.shared_tenants("example.com", at + 30 * DAYS + timedelta(seconds=1)) == []


@pytest.mark.usefixtures("aws")
def test_the_store_lists_every_monitoring_tenant_without_a_bound() -> None:
    verified, unverified = new_tenant("example.com"), new_tenant("example.com")
    verify(verified, "example.com", utcnow() - 400 * DAYS)
    everyone = domain_store.tenants_monitoring("example.com", verified_since=None)
    assert sorted(tenant.account_id for tenant in everyone) == sorted(
        [verified.account_id, unverified.account_id]
    )
    assert domain_store.tenants_monitoring("example.com", verified_since=utcnow() - 30 * DAYS) == []
