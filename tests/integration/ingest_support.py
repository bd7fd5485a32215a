"""Fixtures of the ingestion tests: a live tenant that monitors example.com, and its rua address; a
complete report to apply statistics for directly."""

from __future__ import annotations

import uuid

import pytest

from dmarcwatch.models import Environment, ReportKind, ReportStatus, StoredReport, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import accounts, admin, domains


@pytest.fixture(name="tenant")
def tenant_fixture(aws: None) -> tuple[Tenant, str]:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    live = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(live, get_plan(PlanName.PRO), ["example.com"])
    return live, accounts.inbound_address(created.account, Environment.LIVE)


def stored_report(tenant: Tenant, domain_id: str, n: int) -> StoredReport:
    now = utcnow()
    return StoredReport(
        id=f"rpt_fill{n:016d}",
        account_id=tenant.account_id,
        environment=tenant.environment.value,
        kind=ReportKind.AGGREGATE,
        status=ReportStatus.COMPLETE,
        domain_id=domain_id,
        domain="example.com",
        org_name="filler",
        external_report_id=str(n),
        begin=now,
        end=now,
        received_at=now,
        record_count=1,
        message_count=1,
        raw_key="x",
        payload_key="y",
    )
