"""Accounts: creation (admin CLI) and the account summary."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime

from dmarcwatch import table as t
from dmarcwatch.auth import ratelimit
from dmarcwatch.config import get_settings
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.ids import IdPrefix, new_id
from dmarcwatch.models import Account, Environment, Tenant, utcnow
from dmarcwatch.plans import Plan, PlanName, get_plan
from dmarcwatch.services.keys import DEFAULT_EXPIRY_DAYS, IssuedKey, new_key
from dmarcwatch.store import accounts as store
from dmarcwatch.store import counters
from dmarcwatch.store import domains as domain_store


@dataclass(frozen=True)
class CreatedAccount:
    account: Account
    live_key: IssuedKey
    test_key: IssuedKey


def create_account(
    email: str,
    plan: PlanName,
    name: str | None = None,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    *,
    production_access: bool = True,
) -> CreatedAccount:
    """A new account with a first `admin` key in each environment (returned once, stored hashed); its
    live key works only with `production_access` (the operator may withhold it and grant it later)."""
    now = utcnow()
    account = Account(
        id=new_id(IdPrefix.ACCOUNT),
        email=email.strip().lower(),
        name=name,
        plan=plan,
        created_at=now,
        inbound_token=new_inbound_token(),
        production_access=production_access,
    )
    live = new_key(account.id, Environment.LIVE, "first live key", expires_in_days, now)
    test = new_key(account.id, Environment.TEST, "first test key", expires_in_days, now)
    try:
        store.create_account(account, [live.key, test.key])
    except store.EmailTaken as error:
        raise ApiError(ErrorCode.CONFLICT, f"an account with email {account.email} exists") from error
    return CreatedAccount(account, live, test)


def new_inbound_token() -> str:
    """12 lowercase letters and digits: mail local parts are case-insensitive in practice."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(12))


def inbound_address(account: Account, environment: Environment) -> str:
    suffix = "+test" if environment == Environment.TEST else ""
    return f"{account.inbound_token}{suffix}@{get_settings().reports_domain}"


@dataclass(frozen=True)
class Usage:
    domains: int
    api_calls_today: int
    reports_this_month: int


def usage(tenant: Tenant, api_calls_today: int | None = None) -> Usage:
    """The tenant's usage; `api_calls_today` when the caller already knows it (the limiter just counted)."""
    now = datetime.now(UTC)
    domains, reports = domain_store.domain_count_and_counter(
        tenant,
        t.rate_pk(counters.reports_counter_subject(tenant.account_id, tenant.environment.value)),
        counters.month_window(now),
    )
    return Usage(
        domains=domains,
        api_calls_today=ratelimit.calls_today(tenant.account_id, now)
        if api_calls_today is None
        else api_calls_today,
        reports_this_month=reports,
    )


def plan_of(account: Account) -> Plan:
    return get_plan(account.plan)
