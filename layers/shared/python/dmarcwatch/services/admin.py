"""Operator actions behind `dmarcwatch admin`: accounts with their gateway keys, extra keys, reprocessing
mail no account took."""

from __future__ import annotations

from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ingest import jobs
from dmarcwatch.ingest.pipeline import IngestOutcome
from dmarcwatch.models import Account, Environment, KeyScope, QuarantineEntry, SubscriptionStatus, Tenant
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import accounts, keys
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import gateway
from dmarcwatch.store import reports as report_store


def create_account(
    email: str, plan: PlanName, name: str | None, expires_in_days: int, *, production_access: bool = True
) -> accounts.CreatedAccount:
    """Create the account and, where a deployment published its usage plans, its gateway key."""
    created = accounts.create_account(email, plan, name, expires_in_days, production_access=production_access)
    plan_ids = gateway.usage_plan_ids()
    if plan_ids is not None:
        key_id, key_value = gateway.create_account_key(created.account.id, plan_ids[plan.value])
        account_store.set_gateway_key(created.account.id, key_id, key_value)
        account = created.account.model_copy(
            update={"gateway_key_id": key_id, "gateway_key_value": key_value}
        )
        created = accounts.CreatedAccount(account, created.live_key, created.test_key)
    return created


def create_key(
    account_id: str,
    environment: Environment,
    name: str,
    expires_in_days: int,
    scope: KeyScope = KeyScope.ADMIN,
) -> keys.IssuedKey:
    account = account_store.get_account(account_id)
    if account is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no account {account_id}")
    tenant = Tenant(account_id=account_id, environment=environment)
    return keys.create_key(tenant, get_plan(account.plan), name, expires_in_days, scope=scope)


def get_account(account_id: str) -> Account | None:
    return account_store.get_account(account_id)


def set_production_access(account_id: str, granted: bool) -> None:
    """Grant or withdraw production access: the account's live keys work, or answer 403
    production_access_required (within seconds on every API process: `store.accounts.recent_account`)."""
    if not account_store.set_production_access(account_id, granted):
        raise ApiError(ErrorCode.NOT_FOUND, f"no account {account_id}")


def set_subscription(account_id: str, status: SubscriptionStatus) -> None:
    if not account_store.set_subscription_status(account_id, status.value):
        raise ApiError(ErrorCode.NOT_FOUND, f"no account {account_id}")


def set_plan(account_id: str, plan: PlanName) -> Account:
    """Change the plan: limits and allowances follow at once; the gateway key moves to its usage plan."""
    account = account_store.get_account(account_id)
    if account is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no account {account_id}")
    plan_ids = gateway.usage_plan_ids()
    if plan_ids is not None and account.gateway_key_id and account.plan != plan:
        gateway.move_account_key(account.gateway_key_id, plan_ids[account.plan.value], plan_ids[plan.value])
    account_store.set_plan(account_id, plan.value)
    return account.model_copy(update={"plan": plan})


def reprocess_unrouted(quarantine_id: str) -> tuple[QuarantineEntry, IngestOutcome]:
    """The operator's reprocessing of mail no account took (admin CLI): normal routing, run here."""
    entry = report_store.get_quarantine(None, quarantine_id)
    if entry is None:
        raise not_found("quarantine entry")
    return jobs.reprocess(entry, only=None)
