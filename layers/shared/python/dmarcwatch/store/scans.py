"""Scan results, change history and rescan scheduling in DynamoDB.

- latest scan: pk=TENANT#…, sk=SCAN#<dom_id>: the full result as JSON, the previous value and change
  time of every changed field, and `scan_count`, the optimistic lock that keeps two concurrent scans
  from both recording the same change.
- history:     pk=TENANT#…#CHANGES#<dom_id>, sk=<detected_at>#<chg_id>: field, old, new.
- schedule:    the domain item's gsi2 keys (SCANDUE#<shard>, <next scan time>#…) while it is active.
- selectors:   pk=TENANT#…, sk=DKIMSEL#<dom_id>: DKIM selectors seen in the domain's DMARC reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import Domain, Environment, Tenant
from dmarcwatch.store.db import (
    is_conditional_failure,
    key,
    table,
    to_wire,
    transact,
    ts,
)


@dataclass(frozen=True)
class LatestScan:
    result: dict[str, Any]
    previous: dict[str, dict[str, Any]]
    scan_count: int
    scanned_at: str


@dataclass(frozen=True)
class ChangeRow:
    id: str
    field: str
    old: str | None
    new: str | None
    detected_at: str


@dataclass(frozen=True)
class DueDomain:
    tenant: Tenant
    name: str
    domain_id: str


def _tpk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def shard_of(tenant: Tenant, name: str) -> int:
    digest = hashlib.sha256(f"{tenant.account_id}#{tenant.environment.value}#{name}".encode()).digest()
    return digest[0] % t.SCAN_SHARDS


def latest(tenant: Tenant, domain_id: str) -> LatestScan | None:
    item = table().get_item(Key=key(_tpk(tenant), t.scan_sk(domain_id)), ConsistentRead=True).get("Item")
    if not item:
        return None
    return LatestScan(
        result=json.loads(item["result"]),
        previous=json.loads(item.get("previous") or "{}"),
        scan_count=int(item.get("scan_count", 0)),
        scanned_at=str(item.get("scanned_at", "")),
    )


def record_scan(
    tenant: Tenant,
    domain: Domain,
    *,
    result_json: str,
    summary: dict[str, Any],
    previous: dict[str, dict[str, Any]],
    expected_count: int,
    changes: list[ChangeRow],
    events: list[dict[str, Any]],
    scanned_at: datetime,
) -> bool:
    """Write the new latest result, its changes and events, and the domain's summary fields, atomically.

    False when another scan of the same domain committed first (the caller's diff is stale).
    """
    name = table().name
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": name,
                "Item": to_wire(
                    {
                        **key(_tpk(tenant), t.scan_sk(domain.id)),
                        "type": "scan",
                        "domain_id": domain.id,
                        "result": result_json,
                        "previous": json.dumps(previous),
                        "scan_count": expected_count + 1,
                        "scanned_at": ts(scanned_at),
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR scan_count = :n",
                "ExpressionAttributeValues": to_wire({":n": expected_count}),
            }
        },
        {
            "Update": {
                "TableName": name,
                "Key": to_wire(key(_tpk(tenant), t.domain_sk(domain.name))),
                "UpdateExpression": "SET "
                + ", ".join(f"#f{i} = :f{i}" for i in range(len(summary)))
                + ", last_scan_at = :at",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {f"#f{i}": field for i, field in enumerate(summary)},
                "ExpressionAttributeValues": to_wire(
                    {**{f":f{i}": value for i, value in enumerate(summary.values())}, ":at": ts(scanned_at)}
                ),
            }
        },
    ]
    pk = t.changes_pk(tenant.account_id, tenant.environment, domain.id)
    for change in changes:
        item = {
            **key(pk, f"{change.detected_at}#{change.id}"),
            "type": "change",
            "id": change.id,
            "field": change.field,
            "old": change.old,
            "new": change.new,
            "detected_at": change.detected_at,
        }
        items.append({"Put": {"TableName": name, "Item": to_wire(item)}})
    items.extend({"Put": {"TableName": name, "Item": to_wire(event)}} for event in events)
    # 100 items per transaction: a scan that changes more than ~90 fields is cut to the first ones.
    return transact(items[:100])


def list_changes(
    tenant: Tenant, domain_id: str, *, limit: int, before: str | None
) -> tuple[list[ChangeRow], str | None]:
    """Newest first. `before` is the sort key of the last change returned before."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": t.changes_pk(tenant.account_id, tenant.environment, domain_id)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if before:
        query["ExclusiveStartKey"] = key(query["ExpressionAttributeValues"][":pk"], before)
    response = table().query(**query)
    rows = [
        ChangeRow(str(i["id"]), str(i["field"]), i.get("old"), i.get("new"), str(i["detected_at"]))
        for i in response["Items"]
    ]
    cursor = str(response["Items"][-1]["sk"]) if rows and "LastEvaluatedKey" in response else None
    return rows, cursor


def schedule(tenant: Tenant, domain: Domain, next_scan_at: datetime) -> None:
    """Make the domain due at `next_scan_at` (sparse gsi2 keys)."""
    table().update_item(
        Key=key(_tpk(tenant), t.domain_sk(domain.name)),
        UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk, next_scan_at = :at",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={
            ":pk": t.scan_due_pk(shard_of(tenant, domain.name)),
            ":sk": f"{ts(next_scan_at)}#{tenant.account_id}#{tenant.environment.value}#{domain.name}",
            ":at": ts(next_scan_at),
        },
    )


def unschedule(tenant: Tenant, domain: Domain) -> None:
    try:
        table().update_item(
            Key=key(_tpk(tenant), t.domain_sk(domain.name)),
            UpdateExpression="REMOVE gsi2pk, gsi2sk, next_scan_at",
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise


def due(
    shard: int, now: datetime, limit: int, after: str | None = None
) -> tuple[list[DueDomain], str | None]:
    """Due domains of one shard in schedule order, continuing after the gsi2 sort key `after`.

    Paging forward (instead of asking again from the start) keeps a just-leased domain, which the
    eventually consistent index may still list as due for a moment, from being queued twice.
    """
    query: dict[str, Any] = {
        "IndexName": "gsi2",
        "KeyConditionExpression": "gsi2pk = :pk AND gsi2sk <= :now",
        "ExpressionAttributeValues": {":pk": t.scan_due_pk(shard), ":now": f"{ts(now)}#~"},
        "Limit": limit,
    }
    if after:
        _, account_id, environment, name = after.split("#", 3)
        query["ExclusiveStartKey"] = {
            **key(t.tenant_pk(account_id, environment), t.domain_sk(name)),
            "gsi2pk": t.scan_due_pk(shard),
            "gsi2sk": after,
        }
    response = table().query(**query)
    found = []
    for item in response["Items"]:
        _, account_id, environment, name = str(item["gsi2sk"]).split("#", 3)
        found.append(
            DueDomain(
                Tenant(account_id=account_id, environment=Environment(environment)), name, str(item["id"])
            )
        )
    last = (
        str(response["Items"][-1]["gsi2sk"]) if response["Items"] and "LastEvaluatedKey" in response else None
    )
    return found, last


def add_dkim_selectors(tenant: Tenant, domain_id: str, selectors: set[str]) -> None:
    if selectors:
        table().update_item(
            Key=key(_tpk(tenant), t.dkim_selectors_sk(domain_id)),
            UpdateExpression="ADD selectors :s",
            ExpressionAttributeValues={":s": selectors},
        )


def dkim_selectors(tenant: Tenant, domain_id: str) -> set[str]:
    item = table().get_item(Key=key(_tpk(tenant), t.dkim_selectors_sk(domain_id))).get("Item")
    return set(item.get("selectors", set())) if item else set()
