"""Authenticating a request: Bearer key -> principal. Shared by the TOKEN authorizer and the app.

Imports no web framework, so the authorizer Lambda stays small and starts fast.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dmarcwatch.auth.apikeys import hash_key, parse_key
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import Account, ApiKey, Environment, SubscriptionStatus, Tenant, utcnow
from dmarcwatch.plans import Plan, get_plan
from dmarcwatch.store import accounts as account_store


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    account: Account
    key: ApiKey

    @property
    def tenant(self) -> Tenant:
        return Tenant(account_id=self.account.id, environment=self.key.environment)

    @property
    def plan(self) -> Plan:
        return get_plan(self.account.plan)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(token: str | None, *, check_subscription: bool = True) -> Principal:
    """The principal for `token`, or ApiError invalid_api_key / key_expired / subscription_required /
    production_access_required (a live key of an account without production access).

    Revocation and expiry are checked against a strongly consistent read on every call, which is why
    the API Gateway authorizer may cache its result: the app never trusts the cache for them. The
    account (plan, subscription) may be a copy a few seconds old (`accounts.recent_account`).
    """
    if not token or parse_key(token) is None:
        raise ApiError(
            ErrorCode.INVALID_API_KEY, "missing or malformed API key; send 'Authorization: Bearer <key>'"
        )
    api_key = account_store.get_key_by_hash(hash_key(token))
    if api_key is None or api_key.revoked_at is not None:
        raise ApiError(ErrorCode.INVALID_API_KEY, "invalid or revoked API key")
    now = utcnow()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiError(ErrorCode.KEY_EXPIRED, "this API key has expired; create a new one")
    account = account_store.recent_account(api_key.account_id)
    if account is None:
        raise ApiError(ErrorCode.INVALID_API_KEY, "invalid or revoked API key")
    if check_subscription and account.subscription_status == SubscriptionStatus.CANCELED:
        raise ApiError(ErrorCode.SUBSCRIPTION_REQUIRED, "the account's subscription is not active")
    if check_subscription and api_key.environment == Environment.LIVE and not account.production_access:
        raise ApiError(
            ErrorCode.PRODUCTION_ACCESS_REQUIRED,
            "this account has no production access yet: use its test key until the operator grants it",
        )
    account_store.touch_key(api_key, now)
    return Principal(account=account, key=api_key)
