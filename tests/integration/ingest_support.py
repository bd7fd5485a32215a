"""Fixtures of the ingestion tests: a live tenant that monitors example.com, and its rua address."""

from __future__ import annotations

import uuid

import pytest

from dmarcwatch.models import Environment, Tenant
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import accounts, admin, domains


@pytest.fixture(name="tenant")
def tenant_fixture(aws: None) -> tuple[Tenant, str]:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    live = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(live, get_plan(PlanName.PRO), ["example.com"])
    return live, accounts.inbound_address(created.account, Environment.LIVE)
