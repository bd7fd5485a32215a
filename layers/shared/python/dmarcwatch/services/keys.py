"""API keys: shown once, stored hashed, expiring, at most a few active per environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch.auth.apikeys import generate_key, hash_key, key_prefix
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ids import IdPrefix, new_id
from dmarcwatch.models import ApiKey, Environment, Tenant, utcnow
from dmarcwatch.plans import Plan
from dmarcwatch.store import accounts as store

DEFAULT_EXPIRY_DAYS = 365


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def new_key(
    account_id: str, environment: Environment, name: str, expires_in_days: int | None, now: datetime
) -> IssuedKey:
    secret = generate_key(environment)
    api_key = ApiKey(
        id=new_id(IdPrefix.KEY),
        account_id=account_id,
        environment=environment,
        name=name,
        prefix=key_prefix(secret),
        key_hash=hash_key(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return IssuedKey(api_key, secret)


def create_key(tenant: Tenant, plan: Plan, name: str, expires_in_days: int | None) -> IssuedKey:
    now = utcnow()
    active = [k for k in store.list_keys(tenant) if k.is_active(now)]
    if len(active) >= plan.api_keys_per_environment:
        raise ApiError(
            ErrorCode.CONFLICT,
            f"at most {plan.api_keys_per_environment} active keys per environment; revoke one first",
        )
    issued = new_key(tenant.account_id, tenant.environment, name, expires_in_days, now)
    store.put_key(issued.key)
    return issued


def list_keys(tenant: Tenant) -> list[ApiKey]:
    return store.list_keys(tenant)


def revoke_key(tenant: Tenant, key_id: str) -> ApiKey:
    api_key = store.get_key(tenant, key_id)
    if api_key is None or api_key.revoked_at is not None:
        raise not_found("API key")
    now = utcnow()
    try:
        store.revoke_key(api_key, now)
    except store.KeyNotFound as error:
        raise not_found("API key") from error
    return api_key.model_copy(update={"revoked_at": now})
