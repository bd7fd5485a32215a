"""Accounts and their API keys.

Item layout (see docs/architecture.md):
- account:      pk=ACCOUNT#<id>            sk=ACCOUNT        gsi1pk=ACCOUNTS gsi1sk=<created_at>
- email lock:   pk=EMAIL#<email>           sk=EMAIL          (makes the email unique)
- key (tenant): pk=TENANT#<acct>#<env>     sk=KEY#<key_id>   (listing, last_used_at)
- key (auth):   pk=KEYHASH#<sha256>        sk=KEYHASH        (auth: one strongly consistent read)
- key slots:    pk=TENANT#<acct>#<env>     sk=KEYSLOTS       (active key ids and expiry, and a version)

Authentication reads the account through `recent_account`: a copy this process read at most
RECENT_ACCOUNT_SECONDS ago (every write here drops it at once; other processes see a plan or subscription
change within that time). The key itself is read strongly consistently on every call, so a revoked or
expired key is refused on the very next request.

Every key creation and revocation rewrites the tenant's key slots on the condition that their version
is still the one it read. That makes the cap on active keys atomic (two creations racing for the last
slot cannot both commit) and serialises a revocation's cascade with creations by the keys it revokes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import Account, ApiKey, Environment, SubscriptionStatus, Tenant
from dmarcwatch.store import aws
from dmarcwatch.store.db import (
    from_wire,
    is_conditional_failure,
    key,
    low_level,
    parse_ts,
    query_items,
    table,
    to_wire,
    transact,
    ts,
)


class EmailTaken(Exception):
    pass


class KeyNotFound(Exception):
    pass


def _account_item(account: Account) -> dict[str, Any]:
    return {
        **key(t.account_pk(account.id), t.ACCOUNT_SK),
        "gsi1pk": t.ACCOUNTS_INDEX_PK,
        "gsi1sk": ts(account.created_at),
        "type": "account",
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "plan": account.plan.value,
        "subscription_status": account.subscription_status.value,
        "created_at": ts(account.created_at),
        "gateway_key_id": account.gateway_key_id,
        "gateway_key_value": account.gateway_key_value,
        "inbound_token": account.inbound_token,
        "production_access": account.production_access,
    }


def _account_from(item: dict[str, Any]) -> Account:
    return Account.model_validate({**item, "created_at": parse_ts(item["created_at"])})


def _key_attrs(api_key: ApiKey) -> dict[str, Any]:
    return {
        "type": "api_key",
        "id": api_key.id,
        "account_id": api_key.account_id,
        "environment": api_key.environment.value,
        "name": api_key.name,
        "prefix": api_key.prefix,
        "key_hash": api_key.key_hash,
        "created_at": ts(api_key.created_at),
        "expires_at": ts(api_key.expires_at),
        "revoked_at": ts(api_key.revoked_at),
        "scope": api_key.scope.value,
        "created_by_key_id": api_key.created_by_key_id,
    }


def _key_from(item: dict[str, Any]) -> ApiKey:
    return ApiKey.model_validate(
        {
            **item,
            "created_at": parse_ts(item["created_at"]),
            "expires_at": parse_ts(item.get("expires_at")),
            "revoked_at": parse_ts(item.get("revoked_at")),
            "last_used_at": parse_ts(item.get("last_used_at")),
        }
    )


def _key_puts(api_key: ApiKey) -> list[dict[str, Any]]:
    attrs = _key_attrs(api_key)
    return [
        {
            "Put": {
                "TableName": table().name,
                "Item": to_wire({**copy, **attrs}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for copy in _key_copies(api_key)
    ]


def create_account(account: Account, first_keys: list[ApiKey]) -> None:
    """Account, email lock and first keys in one transaction."""
    email_lock = {**key(t.email_pk(account.email), "EMAIL"), "account_id": account.id}
    inbound = {**key(t.inbound_pk(account.inbound_token), t.INBOUND_SK), "account_id": account.id}
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table().name,
                "Item": to_wire(inbound),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": table().name,
                "Item": to_wire(email_lock),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": table().name,
                "Item": to_wire(_account_item(account)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    for api_key in first_keys:
        items.extend(_key_puts(api_key))
    for environment in Environment:
        mine = {k.id: k.expires_at for k in first_keys if k.environment == environment}
        fresh = KeySlots(Tenant(account_id=account.id, environment=environment), 0, {})
        items.append(_slots_write(fresh, mine))
    if not transact(items):
        raise EmailTaken(account.email)


def get_account(account_id: str) -> Account | None:
    item = table().get_item(Key=key(t.account_pk(account_id), t.ACCOUNT_SK), ConsistentRead=True).get("Item")
    account = _account_from(item) if item else None
    if account is not None:
        if len(_recent) > 10_000:
            _recent.clear()
        _recent[account_id] = (clock(), account)
    return account


RECENT_ACCOUNT_SECONDS = 5.0
# The time `recent_account` measures ages with (a name of its own, so a test can move it).
clock = time.monotonic
# account id -> (when this process read it, the account): authentication's copies (`recent_account`).
_recent: dict[str, tuple[float, Account]] = {}
aws.on_reset(_recent.clear)


def recent_account(account_id: str, max_age: float = RECENT_ACCOUNT_SECONDS) -> Account | None:
    """The account as this process read it at most `max_age` seconds ago, else as it is now.

    Every authenticated call needs the account's plan and subscription; reading it once per few seconds
    per process instead of once per call takes a read off every request."""
    seen = _recent.get(account_id)
    if seen is not None and clock() - seen[0] <= max_age:
        return seen[1]
    return get_account(account_id)


def _update_account(account_id: str, **update: Any) -> None:
    """Update the account item if it exists (else ConditionalCheckFailed), and forget this process's copy."""
    try:
        table().update_item(
            Key=key(t.account_pk(account_id), t.ACCOUNT_SK),
            ConditionExpression="attribute_exists(pk)",
            **update,
        )
    finally:
        _recent.pop(account_id, None)


def find_account_by_inbound_token(token: str) -> Account | None:
    item = table().get_item(Key=key(t.inbound_pk(token), t.INBOUND_SK)).get("Item")
    return get_account(item["account_id"]) if item else None


def find_account_by_email(email: str) -> Account | None:
    item = table().get_item(Key=key(t.email_pk(email), "EMAIL")).get("Item")
    return get_account(item["account_id"]) if item else None


def set_gateway_key(account_id: str, gateway_key_id: str, gateway_key_value: str) -> None:
    _update_account(
        account_id,
        UpdateExpression="SET gateway_key_id = :i, gateway_key_value = :v",
        ExpressionAttributeValues={":i": gateway_key_id, ":v": gateway_key_value},
    )


def put_key(api_key: ApiKey) -> None:
    """Store a key without taking a slot (tests and operator repairs). Keys are issued with `add_key`."""
    if not transact(_key_puts(api_key)):
        # Both ids are random (the hash of 190 random bits): a clash means a bug, not bad luck.
        raise RuntimeError(f"API key {api_key.id} or its hash is already stored")


def get_key_by_hash(key_hash: str) -> ApiKey | None:
    item = table().get_item(Key=key(t.key_hash_pk(key_hash), t.KEY_HASH_SK), ConsistentRead=True).get("Item")
    return _key_from(item) if item else None


def get_key(tenant: Tenant, key_id: str) -> ApiKey | None:
    item = (
        table()
        .get_item(
            Key=key(t.tenant_pk(tenant.account_id, tenant.environment), t.key_sk(key_id)), ConsistentRead=True
        )
        .get("Item")
    )
    return _key_from(item) if item else None


def list_keys(tenant: Tenant) -> list[ApiKey]:
    response = table().query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
        ExpressionAttributeValues={":pk": t.tenant_pk(tenant.account_id, tenant.environment), ":sk": "KEY#"},
        ConsistentRead=True,
    )
    return sorted((_key_from(i) for i in response["Items"]), key=lambda k: k.created_at)


def revoke_key(api_key: ApiKey, revoked_at: datetime) -> None:
    """Revoke one key and free its slot (no cascade: `services.keys.revoke_key` revokes with cascade)."""
    if not revoke_keys([api_key], key_slots(_tenant_of(api_key)), revoked_at):
        raise KeyNotFound(api_key.id)


# --- key slots: the atomic cap and the revocation cascade ----------------------------------------------


@dataclass(frozen=True)
class KeySlots:
    """The keys of one tenant that hold a slot (id -> expiry), and the version a write must still find.

    Version 0: no slots item yet (an account created before keys were counted this way); `active` then
    comes from the key items, and the first creation or revocation writes the item.
    """

    tenant: Tenant
    version: int
    active: dict[str, datetime | None]

    def live(self, now: datetime) -> dict[str, datetime | None]:
        """The slots still taken at `now`: a key that expired has given its slot back."""
        return {key_id: exp for key_id, exp in self.active.items() if exp is None or exp > now}


def _tenant_of(api_key: ApiKey) -> Tenant:
    return Tenant(account_id=api_key.account_id, environment=api_key.environment)


def _slots_key(tenant: Tenant) -> dict[str, str]:
    return key(t.tenant_pk(tenant.account_id, tenant.environment), t.KEY_SLOTS_SK)


def key_slots(tenant: Tenant) -> KeySlots:
    item = table().get_item(Key=_slots_key(tenant), ConsistentRead=True).get("Item")
    if item:
        active = {key_id: parse_ts(exp) for key_id, exp in (item.get("active") or {}).items()}
        return KeySlots(tenant, int(item["version"]), active)
    keys = list_keys(tenant)
    return KeySlots(tenant, 0, {k.id: k.expires_at for k in keys if k.revoked_at is None})


def _slots_write(slots: KeySlots, active: dict[str, datetime | None]) -> dict[str, Any]:
    """Replace the slots with `active`, on the condition that nobody changed them since `slots` was read."""
    item = {
        **_slots_key(slots.tenant),
        "type": "key_slots",
        "version": slots.version + 1,
        "active": {key_id: ts(exp) for key_id, exp in active.items()},
    }
    put: dict[str, Any] = {"TableName": table().name, "Item": to_wire(item)}
    if slots.version:
        put["ConditionExpression"] = "version = :seen"
        put["ExpressionAttributeValues"] = to_wire({":seen": slots.version})
    else:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


def add_key(api_key: ApiKey, slots: KeySlots, now: datetime) -> bool:
    """Store a new key in a free slot, atomically; the caller has checked the cap on `slots`.

    False when a condition failed (nothing was written): the slots changed since they were read (another
    key was created or revoked meanwhile: read them again), or the creating key has been revoked.
    """
    items = _key_puts(api_key)
    items.append(_slots_write(slots, {**slots.live(now), api_key.id: api_key.expires_at}))
    if api_key.created_by_key_id:
        creator = key(
            t.tenant_pk(api_key.account_id, api_key.environment), t.key_sk(api_key.created_by_key_id)
        )
        items.append(
            {
                "ConditionCheck": {
                    "TableName": table().name,
                    "Key": to_wire(creator),
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
                }
            }
        )
    return transact(items)


def revoke_keys(keys: list[ApiKey], slots: KeySlots, revoked_at: datetime) -> bool:
    """Revoke the keys (both copies of each: the auth copy is what every request reads) and free their
    slots, atomically. False when a condition failed: one of them was revoked meanwhile, or the slots
    changed since they were read (a key was created or revoked: list again)."""
    items: list[dict[str, Any]] = []
    for api_key in keys:
        items.extend(_set_on_unrevoked_key(api_key, {"revoked_at": ts(revoked_at)}))
    gone = {api_key.id for api_key in keys}
    items.append(_slots_write(slots, {k: v for k, v in slots.live(revoked_at).items() if k not in gone}))
    return transact(items)


def _key_copies(api_key: ApiKey) -> list[dict[str, str]]:
    """The key's two items: the tenant's (listing) and the auth copy every request reads."""
    return [
        key(t.tenant_pk(api_key.account_id, api_key.environment), t.key_sk(api_key.id)),
        key(t.key_hash_pk(api_key.key_hash), t.KEY_HASH_SK),
    ]


def _set_on_unrevoked_key(api_key: ApiKey, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Updates setting `values` on both copies of a key that exists and is not revoked."""
    names = {f"#a{i}": name for i, name in enumerate(values)}
    return [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(copy),
                "UpdateExpression": "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_wire({f":v{i}": v for i, v in enumerate(values.values())}),
            }
        }
        for copy in _key_copies(api_key)
    ]


def change_key(api_key: ApiKey, slots: KeySlots, now: datetime) -> bool:
    """Store the key's name and expiry on both copies and its slot's expiry, atomically. False when a
    condition failed: it was revoked meanwhile, or the slots changed since they were read."""
    items = _set_on_unrevoked_key(api_key, {"name": api_key.name, "expires_at": ts(api_key.expires_at)})
    items.append(_slots_write(slots, {**slots.live(now), api_key.id: api_key.expires_at}))
    return transact(items)


def replace_key(old: ApiKey, new: ApiKey, slots: KeySlots, now: datetime) -> bool:
    """Rotation: store `new`, and `old` with its shortened expiry (or revoked), in one transaction with
    the slots (the old key keeps its slot until it expires). False when a condition failed."""
    change = {"revoked_at": ts(old.revoked_at)} if old.revoked_at else {"expires_at": ts(old.expires_at)}
    items = [*_set_on_unrevoked_key(old, change), *_key_puts(new)]
    active = {k: v for k, v in slots.live(now).items() if k != old.id}
    if old.revoked_at is None:
        active[old.id] = old.expires_at
    items.append(_slots_write(slots, {**active, new.id: new.expires_at}))
    return transact(items)


# When this process last recorded each key's use: a warm function skips the (conditional) write for a
# key it touched within the minute, so a busy key costs no write on most requests.
_touched: dict[str, datetime] = {}


def touch_key(api_key: ApiKey, now: datetime, every: timedelta = timedelta(minutes=1)) -> None:
    """Record last use, at most once a minute per key so busy keys do not write on every call."""
    last = _touched.get(api_key.id)
    if last is not None and now - last < every:
        return
    if len(_touched) > 10_000:
        _touched.clear()
    _touched[api_key.id] = now
    try:
        table().update_item(
            Key=key(t.tenant_pk(api_key.account_id, api_key.environment), t.key_sk(api_key.id)),
            UpdateExpression="SET last_used_at = :now",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :before)"
            ),
            ExpressionAttributeValues={":now": ts(now), ":before": ts(now - every)},
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise


def subscription_statuses(account_ids: Iterable[str]) -> dict[str, SubscriptionStatus]:
    """The subscription status of each account that exists, read in batches of 100 (BatchGetItem)."""
    wanted = list(dict.fromkeys(account_ids))
    found: dict[str, SubscriptionStatus] = {}
    name = table().name
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {
            name: {
                "Keys": [to_wire(key(t.account_pk(a), t.ACCOUNT_SK)) for a in wanted[start : start + 100]],
                "ProjectionExpression": "id, subscription_status",
            }
        }
        while request:
            response = low_level().batch_get_item(RequestItems=request)
            for item in response["Responses"].get(name, []):
                plain = from_wire(item)
                found[str(plain["id"])] = SubscriptionStatus(plain.get("subscription_status", "active"))
            request = response.get("UnprocessedKeys") or {}
    return found


def _update_if_account(account_id: str, **update: Any) -> bool:
    """`_update_account`, False (nothing written) when there is no such account."""
    try:
        _update_account(account_id, **update)
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def set_subscription_status(account_id: str, status: str) -> bool:
    """False when there is no such account."""
    return _update_if_account(
        account_id, UpdateExpression="SET subscription_status = :s", ExpressionAttributeValues={":s": status}
    )


def set_production_access(account_id: str, granted: bool) -> bool:
    """False when there is no such account."""
    return _update_if_account(
        account_id, UpdateExpression="SET production_access = :g", ExpressionAttributeValues={":g": granted}
    )


def set_plan(account_id: str, plan: str) -> bool:
    """False when there is no such account."""
    return _update_if_account(
        account_id,
        UpdateExpression="SET #p = :p",
        ExpressionAttributeNames={"#p": "plan"},
        ExpressionAttributeValues={":p": plan},
    )


def account_ids() -> list[str]:
    """Every account's id (gsi1 ACCOUNTS, oldest first)."""
    query = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": t.ACCOUNTS_INDEX_PK},
        "ProjectionExpression": "id",
    }
    return [str(item["id"]) for item in query_items(query)]
