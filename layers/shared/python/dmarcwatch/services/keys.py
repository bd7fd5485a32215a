"""API keys: shown once, stored hashed, scoped, always expiring, at most a few active per environment.

Review M3: a leaked key must not be able to outlive its revocation. So
- every key expires, at most `MAX_EXPIRY_DAYS` after it is issued (there is no "never");
- only an `admin` key may manage keys (the API checks the scope), and a key records which key created
  it (`created_by_key_id`): revoking a key revokes every key it created, directly or through them;
- the cap on active keys is taken atomically (`store.accounts.add_key` writes the key and its slot on a
  version condition), never by listing and then writing. The same version serialises a revocation with
  creations by the keys it revokes, so a key created during the revocation is seen and revoked too, or
  refused because its creator is already revoked.

A key's name and expiry can change (`update_key`: the expiry only within the same year's bound, never on
a key already expired or revoked), and a key can be rotated (`rotate_key`): a new secret with the same
name and scope takes its place, and the old one keeps working for a grace period of at most a day (0:
revoked at once). During the grace the old key keeps its slot, so a rotation at the cap holds one slot
more than the cap until the old key expires; a rotation is not a way to add keys, since the old one goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch.auth.apikeys import generate_key, hash_key, key_prefix
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ids import IdPrefix, new_id
from dmarcwatch.models import ApiKey, Environment, KeyScope, Tenant, utcnow
from dmarcwatch.plans import Plan
from dmarcwatch.store import accounts as account_store

DEFAULT_EXPIRY_DAYS = 365
MAX_EXPIRY_DAYS = 365
MAX_ROTATION_GRACE_SECONDS = 86_400
# A version condition fails only when another key of the tenant changed in between: a few rounds settle it.
_ATTEMPTS = 6


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


@dataclass(frozen=True)
class RevokedKeys:
    key: ApiKey
    # The keys it had created (directly or through them) that were revoked with it.
    cascaded: list[ApiKey]


def check_expiry(expires_in_days: int) -> None:
    if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"a key expires after 1 to {MAX_EXPIRY_DAYS} days",
            details=[{"field": "expires_in_days", "issue": "out_of_range"}],
        )


def new_key(
    account_id: str,
    environment: Environment,
    name: str,
    expires_in_days: int,
    now: datetime,
    *,
    scope: KeyScope = KeyScope.ADMIN,
    created_by_key_id: str | None = None,
) -> IssuedKey:
    check_expiry(expires_in_days)
    secret = generate_key(environment)
    api_key = ApiKey(
        id=new_id(IdPrefix.KEY),
        account_id=account_id,
        environment=environment,
        name=name,
        prefix=key_prefix(secret),
        key_hash=hash_key(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        scope=scope,
        created_by_key_id=created_by_key_id,
    )
    return IssuedKey(api_key, secret)


def create_key(
    tenant: Tenant,
    plan: Plan,
    name: str,
    expires_in_days: int,
    *,
    scope: KeyScope = KeyScope.ADMIN,
    created_by: ApiKey | None = None,
) -> IssuedKey:
    """A new key in the tenant's environment; `created_by` is the calling key (None: the admin CLI)."""
    now = utcnow()
    issued = new_key(
        tenant.account_id,
        tenant.environment,
        name,
        expires_in_days,
        now,
        scope=scope,
        created_by_key_id=created_by.id if created_by else None,
    )
    for _ in range(_ATTEMPTS):
        slots = account_store.key_slots(tenant)
        if len(slots.live(now)) >= plan.api_keys_per_environment:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"at most {plan.api_keys_per_environment} active keys per environment; revoke one first",
            )
        if account_store.add_key(issued.key, slots, now):
            return issued
        if created_by is not None and _revoked(tenant, created_by.id):
            raise ApiError(ErrorCode.INVALID_API_KEY, "invalid or revoked API key")
    raise _busy()


def list_keys(tenant: Tenant) -> list[ApiKey]:
    return account_store.list_keys(tenant)


def revoke_key(tenant: Tenant, key_id: str) -> RevokedKeys:
    """Revoke the key and every key it created, directly or through keys that have since expired."""
    for _ in range(_ATTEMPTS):
        # Slots first: a key created after this read changes their version, so the write below fails
        # and the next round lists it.
        slots = account_store.key_slots(tenant)
        keys = account_store.list_keys(tenant)
        target = next((k for k in keys if k.id == key_id), None)
        if target is None or target.revoked_at is not None:
            raise not_found("API key")
        now = utcnow()
        cascaded = [k for k in descendants(target.id, keys) if k.is_active(now)]
        if account_store.revoke_keys([target, *cascaded], slots, now):
            revoked = [k.model_copy(update={"revoked_at": now}) for k in cascaded]
            return RevokedKeys(target.model_copy(update={"revoked_at": now}), revoked)
    raise _busy()


def descendants(key_id: str, keys: list[ApiKey]) -> list[ApiKey]:
    """The keys created by `key_id`, and by those, and so on (whatever their state)."""
    children: dict[str, list[ApiKey]] = {}
    for api_key in keys:
        if api_key.created_by_key_id:
            children.setdefault(api_key.created_by_key_id, []).append(api_key)
    found: list[ApiKey] = []
    pending = [key_id]
    seen = {key_id}
    while pending:
        for child in children.get(pending.pop(), []):
            if child.id not in seen:
                seen.add(child.id)
                found.append(child)
                pending.append(child.id)
    return found


@dataclass(frozen=True)
class RotatedKey:
    issued: IssuedKey
    # The key it replaces, as it is now: expiring at the end of the grace, or revoked.
    replaced: ApiKey


def _changeable(tenant: Tenant, key_id: str, now: datetime) -> ApiKey:
    api_key = account_store.get_key(tenant, key_id)
    if api_key is None or api_key.revoked_at is not None:
        raise not_found("API key")
    if not api_key.is_active(now):
        raise ApiError(ErrorCode.CONFLICT, "this key has expired; create a new one")
    return api_key


def update_key(tenant: Tenant, key_id: str, *, name: str | None, expires_at: datetime | None) -> ApiKey:
    """Rename the key and/or move its expiry (later than now, at most MAX_EXPIRY_DAYS from now)."""
    for _ in range(_ATTEMPTS):
        now = utcnow()
        if expires_at is not None and not now < expires_at <= now + timedelta(days=MAX_EXPIRY_DAYS):
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                f"expires_at must be in the future and at most {MAX_EXPIRY_DAYS} days away",
                details=[{"field": "expires_at", "issue": "out_of_range"}],
            )
        slots = account_store.key_slots(tenant)
        current = _changeable(tenant, key_id, now)
        changed = current.model_copy(
            update={"name": name or current.name, "expires_at": expires_at or current.expires_at}
        )
        if account_store.change_key(changed, slots, now):
            return changed
    raise _busy()


def rotate_key(tenant: Tenant, key_id: str, grace_seconds: int, expires_in_days: int) -> RotatedKey:
    """A new secret for the key (same name and scope, the old key's creator as its creator); the old
    secret keeps working for `grace_seconds` (0: revoked at once), never past its own expiry. If the
    old key is revoked meanwhile (directly or with its creator), the write fails and it is not found."""
    if not 0 <= grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"grace_seconds is 0 to {MAX_ROTATION_GRACE_SECONDS}",
            details=[{"field": "grace_seconds", "issue": "out_of_range"}],
        )
    check_expiry(expires_in_days)
    for _ in range(_ATTEMPTS):
        now = utcnow()
        slots = account_store.key_slots(tenant)
        old = _changeable(tenant, key_id, now)
        issued = new_key(
            tenant.account_id,
            tenant.environment,
            old.name,
            expires_in_days,
            now,
            scope=old.scope,
            created_by_key_id=old.created_by_key_id,
        )
        ends = now + timedelta(seconds=grace_seconds)
        replaced = old.model_copy(
            update={"revoked_at": now}
            if grace_seconds == 0
            else {"expires_at": min(ends, old.expires_at) if old.expires_at else ends}
        )
        if account_store.replace_key(replaced, issued.key, slots, now):
            return RotatedKey(issued, replaced)
    raise _busy()


def _revoked(tenant: Tenant, key_id: str) -> bool:
    api_key = account_store.get_key(tenant, key_id)
    return api_key is None or api_key.revoked_at is not None


def _busy() -> ApiError:
    return ApiError(ErrorCode.CONFLICT, "the keys of this environment are being changed right now; try again")
