"""Reports, their records, daily statistics, sources and quarantine entries in DynamoDB.

Exactly-once accounting: each statistics or source item carries the set of report ids already added to
it, and every increment is conditional on the report not being in that set (and adds it in the same
update). A duplicate S3 event, a retried Lambda or the same report mailed twice therefore changes no
count, item by item, even after a crash half way through. The report item's switch from `pending` to
`complete` (with the monthly report counter, in one transaction) is the commit point the API shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.ingest.models import COUNTERS, QuarantineEntry, ReportStatus, StoredReport
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store.db import (
    is_conditional_failure,
    key,
    low_level,
    table,
    to_wire,
    transact,
    ts,
)

RECORDS_PER_CHUNK = 200
_PARALLEL_UPDATES = 16


def _tpk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def _report_item(report: StoredReport) -> dict[str, Any]:
    data = report.model_dump(mode="json")
    return {
        **key(t.tenant_pk(report.account_id, report.environment), t.report_sk(report.id)),
        "gsi1pk": t.reports_index_pk(report.account_id, report.environment),
        "gsi1sk": f"{ts(report.begin)}#{report.id}",
        "type": "report",
        **data,
        "org_name_lc": report.org_name.lower(),
        "policy_published": json.dumps(data["policy_published"]),
        "summary": json.dumps(data["summary"]),
    }


def _report_from(item: dict[str, Any]) -> StoredReport:
    return StoredReport.model_validate(
        {
            **item,
            "policy_published": json.loads(item.get("policy_published") or "{}"),
            "summary": json.loads(item.get("summary") or "{}"),
        }
    )


def begin_report(report: StoredReport) -> StoredReport:
    """Write the report as pending, or return the one already stored under its (derived) id."""
    try:
        table().put_item(Item=_report_item(report), ConditionExpression="attribute_not_exists(pk)")
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        tenant = Tenant(account_id=report.account_id, environment=Environment(report.environment))
        existing = get_report(tenant, report.id)
        assert existing is not None
        return existing
    return report


def put_record_chunks(report: StoredReport, records: list[dict[str, Any]]) -> int:
    """Store records in chunks (a 100,000-record report is 500 items, far from the 400 KB item limit)."""
    pk = t.records_pk(report.account_id, report.environment, report.id)
    chunks = [records[i : i + RECORDS_PER_CHUNK] for i in range(0, len(records), RECORDS_PER_CHUNK)]
    with table().batch_writer() as batch:
        for index, chunk in enumerate(chunks):
            batch.put_item(
                Item={
                    **key(pk, f"{index:06d}"),
                    "first": index * RECORDS_PER_CHUNK,
                    "records": json.dumps(chunk),
                }
            )
    return len(chunks)


def get_record_chunk(tenant: Tenant, report_id: str, index: int) -> list[dict[str, Any]]:
    item = (
        table()
        .get_item(Key=key(t.records_pk(tenant.account_id, tenant.environment, report_id), f"{index:06d}"))
        .get("Item")
    )
    return json.loads(item["records"]) if item else []


def _apply(update: tuple[dict[str, Any], dict[str, int], str, dict[str, Any]]) -> bool:
    item_key, counters, report_id, extra = update
    names = {f"#{n}": n for n in counters} | {"#applied": "applied_reports"}
    values: dict[str, Any] = {f":{n}": v for n, v in counters.items()}
    values[":rid"] = {report_id}
    values[":rid_one"] = report_id
    adds = ", ".join(f"#{n} :{n}" for n in counters)
    update_expression = f"ADD {adds}, #applied :rid"
    if extra:
        sets = []
        for i, (name, value) in enumerate(extra.items()):
            names[f"#x{i}"] = name
            values[f":x{i}"] = value
            sets.append(f"#x{i} = if_not_exists(#x{i}, :x{i})")
        update_expression += " SET " + ", ".join(sets)
    try:
        low_level().update_item(
            TableName=table().name,
            Key=to_wire(item_key),
            UpdateExpression=update_expression,
            ConditionExpression="attribute_not_exists(#applied) OR NOT contains(#applied, :rid_one)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_wire(values),
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def apply_aggregates(
    report: StoredReport,
    days: dict[str, dict[str, int]],
    sources: dict[tuple[str, str], dict[str, int]],
) -> int:
    """Apply the day and source deltas once each; returns how many items changed (0 on a replay)."""
    account, env, domain_id = report.account_id, report.environment, report.domain_id
    updates: list[tuple[dict[str, Any], dict[str, int], str, dict[str, Any]]] = []
    for day, counters in days.items():
        updates.append((key(t.stats_pk(account, env, domain_id), day), counters, report.id, {"day": day}))
    for (day, ip), counters in sources.items():
        updates.append(
            (
                key(t.sources_pk(account, env, domain_id, day, t.source_shard(ip)), ip),
                counters,
                report.id,
                {"day": day, "ip": ip},
            )
        )
    if len(updates) <= 4:
        return sum(_apply(u) for u in updates)
    with ThreadPoolExecutor(max_workers=_PARALLEL_UPDATES) as pool:
        return sum(pool.map(_apply, updates))


def complete_report(
    report: StoredReport, month_window: str, counter_subject: str, event_item: dict[str, Any]
) -> bool:
    """Mark the report complete, count it for the month and log its event, once. False if it already was."""
    items = [
        {"Put": {"TableName": table().name, "Item": to_wire(event_item)}},
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(
                    key(t.tenant_pk(report.account_id, report.environment), t.report_sk(report.id))
                ),
                "UpdateExpression": "SET #s = :done, record_chunks = :chunks",
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": to_wire(
                    {
                        ":done": ReportStatus.COMPLETE.value,
                        ":pending": ReportStatus.PENDING.value,
                        ":chunks": report.record_chunks,
                    }
                ),
            }
        },
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(key(t.rate_pk(counter_subject), month_window)),
                "UpdateExpression": "ADD hits :one",
                "ExpressionAttributeValues": to_wire({":one": 1}),
            }
        },
    ]
    return transact(items)


def get_report(tenant: Tenant, report_id: str) -> StoredReport | None:
    item = table().get_item(Key=key(_tpk(tenant), t.report_sk(report_id)), ConsistentRead=True).get("Item")
    return _report_from(item) if item else None


def list_reports(
    tenant: Tenant,
    *,
    limit: int,
    start: str | None,
    end: str | None,
    filters: dict[str, str],
    after: str | None,
) -> tuple[list[StoredReport], str | None]:
    """Complete reports, newest first, with date bounds on the index key and the other filters applied.

    `after` is the index sort key of the last report returned before; the returned cursor likewise.
    """
    names: dict[str, str] = {"#s": "status"}
    values: dict[str, Any] = {
        ":pk": t.reports_index_pk(tenant.account_id, tenant.environment),
        ":done": ReportStatus.COMPLETE.value,
        ":lo": start or "0",
        ":hi": (end or "9999-12-31") + "~",
    }
    conditions = ["#s = :done"]
    for field, op in (
        ("domain_id", "eq"),
        ("kind", "eq"),
        ("domain", "contains"),
        ("org_name_lc", "contains"),
    ):
        if field in filters:
            names[f"#{field}"] = field
            values[f":{field}"] = filters[field]
            conditions.append(f"#{field} = :{field}" if op == "eq" else f"contains(#{field}, :{field})")
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
        "FilterExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
        "Limit": max(limit * 2, 50),
    }
    found: list[StoredReport] = []
    last_key: dict[str, Any] | None = None
    if after:
        report_id = after.rsplit("#", 1)[-1]
        last_key = {**key(_tpk(tenant), t.report_sk(report_id)), "gsi1pk": values[":pk"], "gsi1sk": after}
    while True:
        if last_key:
            query["ExclusiveStartKey"] = last_key
        response = table().query(**query)
        items = response["Items"]
        for position, item in enumerate(items):
            found.append(_report_from(item))
            if len(found) == limit:
                more = position < len(items) - 1 or "LastEvaluatedKey" in response
                return found, (str(item["gsi1sk"]) if more else None)
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return found, None


def daily_stats(tenant: Tenant, domain_id: str, start: str, end: str) -> list[dict[str, Any]]:
    response_items: list[dict[str, Any]] = []
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": t.stats_pk(tenant.account_id, tenant.environment, domain_id),
            ":lo": start,
            ":hi": end,
        },
    }
    while True:
        response = table().query(**query)
        response_items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return [_counters_of(i) | {"day": i["sk"]} for i in response_items]
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def sources_for_days(tenant: Tenant, domain_id: str, days: Iterable[str]) -> list[dict[str, Any]]:
    def one_partition(part: tuple[str, int]) -> list[dict[str, Any]]:
        day, shard = part
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {
                ":pk": t.sources_pk(tenant.account_id, tenant.environment, domain_id, day, shard)
            },
        }
        while True:
            response = table().query(**query)
            items.extend(_counters_of(i) | {"day": day, "ip": i["sk"]} for i in response["Items"])
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    parts = [(day, shard) for day in days for shard in range(t.SOURCE_SHARDS)]
    with ThreadPoolExecutor(max_workers=_PARALLEL_UPDATES) as pool:
        return [row for rows in pool.map(one_partition, parts) for row in rows]


def _counters_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: int(item.get(name, 0)) for name in COUNTERS}


# --- quarantine -------------------------------------------------------------------------------------


def _quarantine_owner(entry: QuarantineEntry) -> str:
    if entry.account_id and entry.environment:
        return t.tenant_pk(entry.account_id, entry.environment)
    return t.UNROUTED_PK


def put_quarantine(entry: QuarantineEntry) -> bool:
    """Store the entry unless the same one (same derived id) exists; True if it was new."""
    owner = _quarantine_owner(entry)
    item = {
        **key(owner, t.quarantine_sk(entry.id)),
        "gsi1pk": t.quarantine_index_pk(owner),
        "gsi1sk": f"{ts(entry.created_at)}#{entry.id}",
        "type": "quarantine",
        **entry.model_dump(mode="json"),
    }
    try:
        table().put_item(
            Item={k: v for k, v in item.items() if v is not None},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def _quarantine_from(item: dict[str, Any]) -> QuarantineEntry:
    return QuarantineEntry.model_validate(item)


def get_quarantine(tenant: Tenant | None, quarantine_id: str) -> QuarantineEntry | None:
    owner = _tpk(tenant) if tenant else t.UNROUTED_PK
    item = table().get_item(Key=key(owner, t.quarantine_sk(quarantine_id)), ConsistentRead=True).get("Item")
    return _quarantine_from(item) if item else None


def list_quarantine(
    tenant: Tenant | None, *, limit: int, after: str | None
) -> tuple[list[QuarantineEntry], str | None]:
    owner = _tpk(tenant) if tenant else t.UNROUTED_PK
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": t.quarantine_index_pk(owner)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after:
        quarantine_id = after.rsplit("#", 1)[-1]
        query["ExclusiveStartKey"] = {
            **key(owner, t.quarantine_sk(quarantine_id)),
            "gsi1pk": t.quarantine_index_pk(owner),
            "gsi1sk": after,
        }
    response = table().query(**query)
    items = response["Items"]
    cursor = str(items[-1]["gsi1sk"]) if items and "LastEvaluatedKey" in response else None
    return [_quarantine_from(i) for i in items], cursor


def mark_quarantine_resolved(entry: QuarantineEntry, at: datetime) -> None:
    table().update_item(
        Key=key(_quarantine_owner(entry), t.quarantine_sk(entry.id)),
        UpdateExpression="SET resolved = :r, reprocessed_at = :at",
        ExpressionAttributeValues={":r": True, ":at": ts(at)},
    )


def note_reprocess_attempt(entry: QuarantineEntry, at: datetime) -> None:
    table().update_item(
        Key=key(_quarantine_owner(entry), t.quarantine_sk(entry.id)),
        UpdateExpression="SET reprocessed_at = :at",
        ExpressionAttributeValues={":at": ts(at)},
    )
