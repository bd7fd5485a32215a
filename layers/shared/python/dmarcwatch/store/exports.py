"""Export items and the per-tenant cap on exports in progress.

Item layout:
- export: pk=TENANT#<acct>#<env>#EXPORTS sk=EXPORT#<exp_id>; gsi1pk = the same pk, gsi1sk=<created_at>#<id>
          (the listing, newest first). `expires_at_epoch` (TTL) is set when the export finishes.
- slots:  pk=TENANT#<acct>#<env> sk=EXPORTSLOTS: `active`, the exports queued or running.

Every state change that enters or leaves queued/running changes `active` in the same transaction, under a
condition on the state it leaves, so the counter moves exactly once per export whoever races (the API's
DELETE, a worker's retry, the stale-run sweep). Creation is a conditional ADD (`active < max`), never a
count of items, so concurrent requests cannot both take the last slot.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.events import Event
from dmarcwatch.export_model import EXPORT_RETENTION, Export, ExportStatus
from dmarcwatch.models import Tenant
from dmarcwatch.store import events as event_store
from dmarcwatch.store.db import is_conditional_failure, key, query_items, table, to_wire, transact, ts

_ACTIVE = {":queued": ExportStatus.QUEUED.value, ":running": ExportStatus.RUNNING.value}


def _pk(account_id: str, environment: str) -> str:
    return t.exports_pk(account_id, environment)


def _key(tenant: Tenant, export_id: str) -> dict[str, str]:
    return key(_pk(tenant.account_id, tenant.environment.value), t.export_sk(export_id))


def _item(export: Export) -> dict[str, Any]:
    pk = _pk(export.account_id, export.environment)
    created = str(ts(export.created_at))
    body = export.model_dump(mode="json", exclude={"parameters"})
    return {
        **{name: value for name, value in body.items() if value is not None},
        **key(pk, t.export_sk(export.id)),
        "type": "export",
        "gsi1pk": pk,
        "gsi1sk": t.exports_index_sk(created, export.id),
        "parameters": export.parameters.model_dump_json(),
        "created_at": created,
        "heartbeat_at": created,
    }


def _from(item: dict[str, Any]) -> Export:
    fields = {name: item[name] for name in Export.model_fields if name in item and name != "parameters"}
    return Export.model_validate({**fields, "parameters": json.loads(item["parameters"])})


def _slots(tenant: Tenant, delta: int, max_active: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table().name,
        "Key": to_wire(key(t.tenant_pk(tenant.account_id, tenant.environment.value), t.EXPORT_SLOTS_SK)),
        "UpdateExpression": "ADD active :d",
        "ExpressionAttributeValues": to_wire({":d": delta}),
    }
    if max_active is not None:
        update["ConditionExpression"] = "attribute_not_exists(active) OR active < :max"
        update["ExpressionAttributeValues"] = to_wire({":d": delta, ":max": max_active})
    return {"Update": update}


def tenant_of(export: Export) -> Tenant:
    return Tenant.model_validate({"account_id": export.account_id, "environment": export.environment})


def create(export: Export, max_active: int) -> bool:
    """Store the queued export and take one of its tenant's slots; False when all are taken."""
    put = {
        "Put": {
            "TableName": table().name,
            "Item": to_wire(_item(export)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    return transact([put, _slots(tenant_of(export), 1, max_active)])


def active_count(tenant: Tenant) -> int:
    pk = t.tenant_pk(tenant.account_id, tenant.environment.value)
    item = table().get_item(Key=key(pk, t.EXPORT_SLOTS_SK), ConsistentRead=True).get("Item")
    return int(item.get("active", 0)) if item else 0


def get(tenant: Tenant, export_id: str) -> Export | None:
    item = table().get_item(Key=_key(tenant, export_id), ConsistentRead=True).get("Item")
    return _from(item) if item else None


def list_page(tenant: Tenant, *, limit: int, after: str | None) -> tuple[list[Export], str | None]:
    """Newest first; `after` is the index sort key of the last export of the previous page."""
    pk = _pk(tenant.account_id, tenant.environment.value)
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": pk},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after:
        export_id = after.rsplit("#", 1)[-1]
        query["ExclusiveStartKey"] = {**key(pk, t.export_sk(export_id)), "gsi1pk": pk, "gsi1sk": after}
    response = table().query(**query)
    items = response["Items"]
    position = str(items[-1]["gsi1sk"]) if items and "LastEvaluatedKey" in response else None
    return [_from(item) for item in items], position


def active_exports(tenant: Tenant) -> list[Export]:
    """The tenant's queued and running exports (a handful: the cap keeps it small)."""
    query = {
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "#s IN (:queued, :running)",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":pk": _pk(tenant.account_id, tenant.environment.value), **_ACTIVE},
    }
    return [_from(item) for item in query_items(query)]


def claim(
    tenant: Tenant, export_id: str, attempt: str, now: datetime, stale_before: datetime
) -> Export | None:
    """Start (or take over) the run: queued, or running without a sign of life since `stale_before` (its
    worker died). Returns the export as claimed, None when it is not this message's to run (finished,
    deleted, or alive in another worker)."""
    try:
        response = table().update_item(
            Key=_key(tenant, export_id),
            UpdateExpression="SET #s = :running, attempt = :a, heartbeat_at = :now, "
            "started_at = if_not_exists(started_at, :now), progress = :zero, row_count = :zero",
            ConditionExpression="#s = :queued OR (#s = :running AND heartbeat_at < :stale)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                **_ACTIVE,
                ":a": attempt,
                ":now": ts(now),
                ":stale": ts(stale_before),
                ":zero": 0,
            },
            ReturnValues="ALL_OLD",
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return None
        raise
    before = _from(response["Attributes"])
    # The previous attempt's upload id stays on the returned copy, so the new attempt can abort it.
    return before.model_copy(update={"status": ExportStatus.RUNNING, "attempt": attempt})


def heartbeat(
    tenant: Tenant, export_id: str, attempt: str, now: datetime, *, rows: int, progress: int, upload_id: str
) -> bool:
    """Record the run's progress; False when the run is no longer this attempt's (deleted, taken over)."""
    try:
        table().update_item(
            Key=_key(tenant, export_id),
            UpdateExpression="SET heartbeat_at = :now, row_count = :rows, progress = :p, upload_id = :u",
            ConditionExpression="#s = :running AND attempt = :a",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": ExportStatus.RUNNING.value,
                ":a": attempt,
                ":now": ts(now),
                ":rows": rows,
                ":p": progress,
                ":u": upload_id,
            },
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _finish(
    tenant: Tenant,
    export_id: str,
    now: datetime,
    fields: dict[str, Any],
    condition: str,
    values: dict[str, Any],
) -> dict[str, Any]:
    expires = now + EXPORT_RETENTION
    assignments = {
        **fields,
        "completed_at": ts(now),
        "expires_at": ts(expires),
        t.TABLE.ttl_attribute: int(expires.timestamp()),
    }
    names = {f"#f{i}": name for i, name in enumerate(assignments)}
    return {
        "Update": {
            "TableName": table().name,
            "Key": to_wire(_key(tenant, export_id)),
            "UpdateExpression": "SET "
            + ", ".join(f"#f{i} = :f{i}" for i in range(len(assignments)))
            + " REMOVE upload_id",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {**names, "#s": "status"},
            "ExpressionAttributeValues": to_wire(
                {**{f":f{i}": value for i, value in enumerate(assignments.values())}, **values}
            ),
        }
    }


def complete(
    tenant: Tenant,
    export_id: str,
    attempt: str,
    now: datetime,
    *,
    rows: int,
    file_size: int,
    truncated: bool,
    event: Event,
) -> bool:
    """Completed, with its `export.completed` event and the slot given back, in one transaction; False
    when the run is no longer this attempt's."""
    fields = {
        "status": ExportStatus.COMPLETED.value,
        "progress": 100,
        "row_count": rows,
        "file_size": file_size,
        "truncated": truncated,
    }
    update = _finish(
        tenant,
        export_id,
        now,
        fields,
        "#s = :running AND attempt = :a",
        {":running": ExportStatus.RUNNING.value, ":a": attempt},
    )
    event_put = {"Put": {"TableName": table().name, "Item": to_wire(event_store.event_item(event))}}
    return transact([update, _slots(tenant, -1), event_put])


def fail(
    tenant: Tenant,
    export_id: str,
    reason: str,
    now: datetime,
    *,
    attempt: str | None = None,
    stale_before: datetime | None = None,
) -> bool:
    """Failed with `reason` and the slot given back; only from queued or running, and with `attempt`
    only if that attempt holds the run, with `stale_before` only if it showed no life since. False when
    the export is not (or no longer) in that state."""
    condition = "#s IN (:queued, :running)"
    values: dict[str, Any] = dict(_ACTIVE)
    if attempt is not None:
        condition += " AND attempt = :a"
        values[":a"] = attempt
    if stale_before is not None:
        condition += " AND heartbeat_at < :stale"
        values[":stale"] = ts(stale_before)
    fields = {"status": ExportStatus.FAILED.value, "error": reason}
    return transact([_finish(tenant, export_id, now, fields, condition, values), _slots(tenant, -1)])


def delete(tenant: Tenant, export: Export) -> bool:
    """Delete the item as read (its status unchanged since), giving its slot back if it held one; False
    when it changed or is gone meanwhile."""
    delete_item: dict[str, Any] = {
        "Delete": {
            "TableName": table().name,
            "Key": to_wire(_key(tenant, export.id)),
            "ConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": to_wire({":s": export.status.value}),
        }
    }
    items = [delete_item, _slots(tenant, -1)] if export.status.active else [delete_item]
    return transact(items)
