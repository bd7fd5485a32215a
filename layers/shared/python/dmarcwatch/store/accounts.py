"""Accounts and their API keys.

Item layout (see docs/architecture.md):
- account:      pk=ACCOUNT#<id>            sk=ACCOUNT        gsi1pk=ACCOUNTS gsi1sk=<created_at>
- email lock:   pk=EMAIL#<email>           sk=EMAIL          (makes the email unique)
- key (tenant): pk=TENANT#<acct>#<env>     sk=KEY#<key_id>   (listing, last_used_at)
- key (auth):   pk=KEYHASH#<sha256>        sk=KEYHASH        (auth: one strongly consistent read)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import Account, ApiKey, Environment, Tenant
from dmarcwatch.store.db import (
    is_conditional_failure,
    key,
    parse_ts,
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
    tenant_item = {**key(t.tenant_pk(api_key.account_id, api_key.environment), t.key_sk(api_key.id)), **attrs}
    hash_item = {**key(t.key_hash_pk(api_key.key_hash), t.KEY_HASH_SK), **attrs}
    return [
        {
            "Put": {
                "TableName": table().name,
                "Item": to_wire(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        for item in (tenant_item, hash_item)
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
    if not transact(items):
        raise EmailTaken(account.email)


def get_account(account_id: str) -> Account | None:
    item = table().get_item(Key=key(t.account_pk(account_id), t.ACCOUNT_SK), ConsistentRead=True).get("Item")
    return _account_from(item) if item else None


def find_account_by_inbound_token(token: str) -> Account | None:
    item = table().get_item(Key=key(t.inbound_pk(token), t.INBOUND_SK)).get("Item")
    return get_account(item["account_id"]) if item else None


def find_account_by_email(email: str) -> Account | None:
    item = table().get_item(Key=key(t.email_pk(email), "EMAIL")).get("Item")
    return get_account(item["account_id"]) if item else None


def set_gateway_key(account_id: str, gateway_key_id: str, gateway_key_value: str) -> None:
    table().update_item(
        Key=key(t.account_pk(account_id), t.ACCOUNT_SK),
        UpdateExpression="SET gateway_key_id = :i, gateway_key_value = :v",
        ExpressionAttributeValues={":i": gateway_key_id, ":v": gateway_key_value},
        ConditionExpression="attribute_exists(pk)",
    )


def put_key(api_key: ApiKey) -> None:
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
    """Mark both copies revoked at once; the auth copy is what every request reads."""
    env = Environment(api_key.environment)
    updates = [
        key(t.tenant_pk(api_key.account_id, env), t.key_sk(api_key.id)),
        key(t.key_hash_pk(api_key.key_hash), t.KEY_HASH_SK),
    ]
    items = [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(k),
                "UpdateExpression": "SET revoked_at = :r",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
                "ExpressionAttributeValues": to_wire({":r": ts(revoked_at)}),
            }
        }
        for k in updates
    ]
    if not transact(items):
        raise KeyNotFound(api_key.id)


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


def set_subscription_status(account_id: str, status: str) -> bool:
    """False when there is no such account."""
    try:
        table().update_item(
            Key=key(t.account_pk(account_id), t.ACCOUNT_SK),
            UpdateExpression="SET subscription_status = :s",
            ExpressionAttributeValues={":s": status},
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def set_plan(account_id: str, plan: str) -> bool:
    """False when there is no such account."""
    try:
        table().update_item(
            Key=key(t.account_pk(account_id), t.ACCOUNT_SK),
            UpdateExpression="SET #p = :p",
            ExpressionAttributeNames={"#p": "plan"},
            ExpressionAttributeValues={":p": plan},
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True
