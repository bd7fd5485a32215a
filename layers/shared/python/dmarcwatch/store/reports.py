"""Reports, their records, daily statistics, sources and quarantine entries in DynamoDB.

Exactly-once accounting: a report's counter deltas (day items and the monthly report counter) are
applied in transactions of at most 100 items, each with a marker item (`APPLIED#<report>`, sk = batch
number) whose put is conditional on its absence. A duplicate S3 event, a retried Lambda or the same report
mailed twice therefore changes no count, batch by batch, even after a crash half way through, and no
statistics item grows with the number of reports applied to it (review H1).
Per-source counters are not counters in the table: each report's (day, IP) counters are stored once per
report and day, compressed into a few items keyed by the report (plain puts, so a replay rewrites the same
items and counts nothing twice), and readers merge the reports of the days they ask for. Source items of
the earlier layout (one counter item per day and IP, 8 shards) are still read and purged.
The report item's switch from `pending` to `complete` is the commit point the API shows; the statistics
are applied after it, so they never show a report that is not complete (review C1).
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.config import get_settings
from dmarcwatch.models import COUNTERS, Environment, QuarantineEntry, ReportStatus, StoredReport, Tenant
from dmarcwatch.portfolio_metrics import daily_counters
from dmarcwatch.store.db import (
    ItemTooLarge,
    bounded_page,
    check_item_size,
    is_conditional_failure,
    key,
    query_items,
    query_pages,
    set_counter_if,
    table,
    to_wire,
    transact,
    transact_reasons,
    ts,
)

# Legacy chunking (items written before chunks were sized by bytes held exactly this many records).
RECORDS_PER_CHUNK = 200
CHUNK_BUDGET_BYTES = 300 * 1024
# zlib level for record chunks: 6 packs a chunk ~8x in about a millisecond; 9 gains little for more CPU.
CHUNK_COMPRESSION_LEVEL = 6
_PARALLEL_UPDATES = 16
# A transaction holds 100 items: the batch's marker and 99 updates.
_UPDATES_PER_BATCH = 99
# Markers only matter while a report is being applied; the report's flag answers for it afterwards.
MARKER_TTL = timedelta(days=30)
# Quarantine entries stay listable this long (the raw mail stays in the bucket by its own lifecycle).
QUARANTINE_TTL = timedelta(days=90)


def _tpk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def _report_key(report: StoredReport) -> dict[str, str]:
    return key(t.tenant_pk(report.account_id, report.environment), t.report_sk(report.id))


def _report_item(report: StoredReport) -> dict[str, Any]:
    data = report.model_dump(mode="json")
    return {
        **_report_key(report),
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
    """Write the report as pending, or return the one already stored under its (derived) id.

    Raises `ItemTooLarge` (nothing written) when the report's metadata would not fit in an item.
    """
    item = check_item_size(_report_item(report), "the report's metadata")
    try:
        table().put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        tenant = Tenant(account_id=report.account_id, environment=Environment(report.environment))
        existing = get_report(tenant, report.id)
        assert existing is not None
        return existing
    return report


def chunk_records(records: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(first index, JSON) per chunk: at most RECORDS_PER_CHUNK records and CHUNK_BUDGET_BYTES each.

    Raises `ItemTooLarge` for a single record over the budget (the parser caps what a record may hold,
    so only a hostile record gets here).
    """
    chunks: list[tuple[int, str]] = []
    first, size = 0, 0
    parts: list[str] = []
    for index, record in enumerate(records):
        encoded = json.dumps(record)
        if len(encoded) > CHUNK_BUDGET_BYTES:
            raise ItemTooLarge(f"record {index}", len(encoded))
        if parts and (len(parts) == RECORDS_PER_CHUNK or size + len(encoded) > CHUNK_BUDGET_BYTES):
            chunks.append((first, "[" + ",".join(parts) + "]"))
            first, size = index, 0
            parts = []
        parts.append(encoded)
        size += len(encoded) + 1
    if parts:
        chunks.append((first, "[" + ",".join(parts) + "]"))
    return chunks


def put_record_chunks(report: StoredReport, records: list[dict[str, Any]]) -> list[int]:
    """Store the records in chunks sized by bytes; returns each chunk's first record index.

    A chunk is stored zlib-compressed (`records_z`, binary): records of one report repeat their keys
    and most values, so a 200-record chunk of ~70 KB of JSON bills ~8 write units instead of ~70, and
    the chunks are most of a big report's writes (docs/architecture.md, "Ingest cost"). Chunks written
    before hold plain JSON in `records`; both are read.
    """
    pk = t.records_pk(report.account_id, report.environment, report.id)
    chunks = chunk_records(records)
    with table().batch_writer() as batch:
        for index, (first, encoded) in enumerate(chunks):
            packed = zlib.compress(encoded.encode("utf-8"), CHUNK_COMPRESSION_LEVEL)
            batch.put_item(Item={**key(pk, f"{index:06d}"), "first": first, "records_z": packed})
    return [first for first, _ in chunks]


def get_record_chunk(tenant: Tenant, report_id: str, index: int) -> list[dict[str, Any]]:
    item = (
        table()
        .get_item(Key=key(t.records_pk(tenant.account_id, tenant.environment, report_id), f"{index:06d}"))
        .get("Item")
    )
    if not item:
        return []
    if "records_z" in item:
        return json.loads(zlib.decompress(bytes(item["records_z"])))  # type: ignore[no-any-return]
    return json.loads(item["records"])  # type: ignore[no-any-return]


def _counter_update(
    item_key: dict[str, Any], counters: dict[str, int], extra: dict[str, Any]
) -> dict[str, Any]:
    # Placeholders by position: counter names may hold characters a placeholder may not (`m:<day>`).
    names = {f"#c{i}": n for i, n in enumerate(counters)}
    values: dict[str, Any] = {f":c{i}": v for i, v in enumerate(counters.values())}
    expression = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
    if extra:
        sets = []
        for i, (name, value) in enumerate(extra.items()):
            names[f"#x{i}"] = name
            values[f":x{i}"] = value
            sets.append(f"#x{i} = if_not_exists(#x{i}, :x{i})")
        expression += " SET " + ", ".join(sets)
    return {
        "Update": {
            "TableName": table().name,
            "Key": to_wire(item_key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_wire(values),
        }
    }


def aggregate_updates(
    report: StoredReport, days: dict[str, dict[str, int]], counter: tuple[str, str]
) -> list[dict[str, Any]]:
    """Every counter update a report makes (the monthly report counter, then its days), in a stable order
    (so a retry forms the same batches). Sources are not counters: see `put_report_sources`."""
    account, env, domain_id = report.account_id, report.environment, report.domain_id
    subject, window = counter
    updates = [_counter_update(key(t.rate_pk(subject), window), {"hits": 1}, {})]
    for day in sorted(days):
        updates.append(
            _counter_update(key(t.stats_pk(account, env, domain_id), day), days[day], {"day": day})
        )
    # The dashboard's messages and passes per day, in each scope the domain was in (portfolio_metrics).
    daily = {day: (counts.get("messages", 0), counts.get("dmarc_pass", 0)) for day, counts in days.items()}
    scope_counters = {name: value for name, value in daily_counters(daily).items() if value}
    for scope in sorted(report.scopes) if scope_counters else ():
        item_key = key(t.tenant_pk(account, env), t.facet_count_sk(scope))
        updates.append(_counter_update(item_key, scope_counters, {}))
    return updates


def apply_aggregates(report: StoredReport, updates: list[dict[str, Any]], now: datetime) -> int:
    """Apply the updates once each, in marked batches; returns how many batches this call applied."""
    marker_pk = t.applied_pk(report.account_id, report.environment, report.id)
    expires = int((now + MARKER_TTL).timestamp())
    batches = [updates[i : i + _UPDATES_PER_BATCH] for i in range(0, len(updates), _UPDATES_PER_BATCH)]

    def apply(numbered: tuple[int, list[dict[str, Any]]]) -> bool:
        number, batch = numbered
        marker = {
            "Put": {
                "TableName": table().name,
                "Item": to_wire({**key(marker_pk, f"{number:06d}"), t.TABLE.ttl_attribute: expires}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        reasons = transact_reasons([marker, *batch])
        if reasons is None:
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False  # this batch was applied before
        raise RuntimeError(f"aggregate batch {number} of {report.id} cancelled: {reasons}")

    parallelism = get_settings().aggregate_parallelism
    if len(batches) == 1 or parallelism == 1:
        return sum(map(apply, enumerate(batches)))
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return sum(pool.map(apply, enumerate(batches)))


# --- per-report sources -------------------------------------------------------------------------------
# A part's rows are "ip,<counter>,<counter>,...\n" lines in the order of the item's `counters`, compressed
# with zlib (IPv4 rows shrink about fourfold). A part holds at most this much compressed; the rows are cut
# first at the raw size below, and a cut that still compresses over the budget is halved until it fits.
SOURCE_PART_BUDGET_BYTES = 300 * 1024
_SOURCE_PART_RAW_BYTES = 1024 * 1024


def encode_sources(rows: list[tuple[str, dict[str, int]]]) -> list[bytes]:
    """The rows (IP, counters) as compressed parts of at most SOURCE_PART_BUDGET_BYTES each, in order."""
    lines = [",".join([ip, *(str(counts.get(name, 0)) for name in COUNTERS)]) + "\n" for ip, counts in rows]
    cuts: list[list[str]] = []
    size = 0
    for line in lines:
        if not cuts or size + len(line) > _SOURCE_PART_RAW_BYTES:
            cuts.append([])
            size = 0
        cuts[-1].append(line)
        size += len(line)

    def compressed(cut: list[str]) -> list[bytes]:
        blob = zlib.compress("".join(cut).encode(), 6)
        if len(blob) <= SOURCE_PART_BUDGET_BYTES or len(cut) == 1:
            return [blob]
        half = len(cut) // 2
        return compressed(cut[:half]) + compressed(cut[half:])

    return [blob for cut in cuts for blob in compressed(cut)]


def decode_sources(blob: bytes, names: list[str]) -> Iterator[tuple[str, dict[str, int]]]:
    for line in zlib.decompress(blob).decode().splitlines():
        ip, *values = line.split(",")
        yield ip, dict(zip(names, map(int, values), strict=True))


def report_source_items(
    report: StoredReport, sources: dict[tuple[str, str], dict[str, int]]
) -> list[dict[str, Any]]:
    """The items holding a report's per-(day, IP) counters: a few per day, keyed by the report, each
    size-checked (a part is bounded by SOURCE_PART_BUDGET_BYTES, whatever the IPs)."""
    by_day: dict[str, list[tuple[str, dict[str, int]]]] = defaultdict(list)
    for (day, ip), counts in sorted(sources.items()):
        by_day[day].append((ip, counts))
    items = []
    for day, rows in by_day.items():
        pk = t.report_sources_pk(report.account_id, report.environment, report.domain_id, day)
        parts = encode_sources(rows)
        for number, blob in enumerate(parts):
            item = {
                **key(pk, t.report_sources_sk(report.id, number)),
                "type": "report_sources",
                "report_id": report.id,
                "day": day,
                "parts": len(parts),
                "counters": ",".join(COUNTERS),
                "rows": blob,
            }
            items.append(check_item_size(item, f"the sources of {day}, part {number}"))
    return items


def put_report_sources(report: StoredReport, sources: dict[tuple[str, str], dict[str, int]]) -> int:
    """Write the report's source items (plain puts: a retry or a replay writes the same items again and
    no count changes); returns how many. Runs after the report is complete (review C1)."""
    items = report_source_items(report, sources)
    with table().batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    return len(items)


def complete_report(report: StoredReport, event_item: dict[str, Any]) -> bool:
    """Mark the report complete and log its event, once. False if it already was."""
    tenant = Tenant(account_id=report.account_id, environment=Environment(report.environment))
    items = [
        {"Put": {"TableName": table().name, "Item": to_wire(event_item)}},
        # The tenant's report count (the unfiltered listing's total_count), once with the completion.
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(key(_tpk(tenant), t.TENANT_META_SK)),
                "UpdateExpression": "ADD report_count :one",
                "ExpressionAttributeValues": to_wire({":one": 1}),
            }
        },
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(_report_key(report)),
                "UpdateExpression": "SET #s = :done, record_chunks = :chunks, chunk_starts = :starts",
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": to_wire(
                    {
                        ":done": ReportStatus.COMPLETE.value,
                        ":pending": ReportStatus.PENDING.value,
                        ":chunks": report.record_chunks,
                        ":starts": report.chunk_starts,
                    }
                ),
            }
        },
    ]
    return transact(items)


def mark_aggregates_applied(report: StoredReport) -> None:
    table().update_item(
        Key=_report_key(report),
        UpdateExpression="SET aggregates_applied = :yes",
        ExpressionAttributeValues={":yes": True},
    )


def get_report(tenant: Tenant, report_id: str) -> StoredReport | None:
    item = table().get_item(Key=key(_tpk(tenant), t.report_sk(report_id)), ConsistentRead=True).get("Item")
    return _report_from(item) if item else None


def _reports_query(
    tenant: Tenant, start: str | None, end: str | None, filters: dict[str, str]
) -> dict[str, Any]:
    """The Query of the tenant's complete reports on gsi1, newest first, dates in the key condition."""
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
    return {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
        "FilterExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }


def count_reports(
    tenant: Tenant,
    *,
    start: str | None,
    end: str | None,
    filters: dict[str, str],
    received_after: datetime | None = None,
    received_before: datetime | None = None,
) -> int:
    """How many reports a filtered listing holds: the same Query read to the end, counted by DynamoDB
    (Select=COUNT), or, with arrival bounds, by reading only each report's `received_at`."""
    query = _reports_query(tenant, start, end, filters)
    if received_after is None and received_before is None:
        return sum(int(page["Count"]) for page in query_pages({**query, "Select": "COUNT"}))
    query["ProjectionExpression"] = "received_at"
    total = 0
    for item in query_items(query):
        received = datetime.fromisoformat(str(item["received_at"]))
        if (received_after is None or received >= received_after) and (
            received_before is None or received < received_before
        ):
            total += 1
    return total


def report_count(tenant: Tenant) -> int:
    """The tenant's complete reports (the counter the completions and purges keep)."""
    item = table().get_item(Key=key(_tpk(tenant), t.TENANT_META_SK)).get("Item") or {}
    return int(item.get("report_count", 0))


def list_reports(
    tenant: Tenant,
    *,
    limit: int,
    start: str | None,
    end: str | None,
    filters: dict[str, str],
    after: str | None,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
) -> tuple[list[StoredReport], str | None]:
    """Complete reports, newest first, with date bounds on the index key and the other filters applied
    (when the report arrived, `received_after` <= received_at < `received_before`, on the read items).

    `after` is the index sort key of the last report returned before; the returned cursor likewise.
    """
    query = {**_reports_query(tenant, start, end, filters), "Limit": max(limit * 2, 50)}
    values = query["ExpressionAttributeValues"]
    last_key: dict[str, Any] | None = None
    if after:
        report_id = after.rsplit("#", 1)[-1]
        last_key = {**key(_tpk(tenant), t.report_sk(report_id)), "gsi1pk": values[":pk"], "gsi1sk": after}

    def received_within(item: dict[str, Any]) -> StoredReport | None:
        report = _report_from(item)
        if (received_after and report.received_at < received_after) or (
            received_before and report.received_at >= received_before
        ):
            return None
        return report

    return bounded_page(
        query, start_key=last_key, limit=limit, convert=received_within, cursor_attribute="gsi1sk"
    )


def daily_stats(tenant: Tenant, domain_id: str, start: str, end: str) -> list[dict[str, Any]]:
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": t.stats_pk(tenant.account_id, tenant.environment, domain_id),
            ":lo": start,
            ":hi": end,
        },
    }
    return [_counters_of(i) | {"day": i["sk"]} for i in query_items(query)]


def sources_for_days(tenant: Tenant, domain_id: str, days: Iterable[str]) -> list[dict[str, Any]]:
    """One row per (day, IP) with its counters over every report of the day, in both layouts: the
    per-report items and the legacy per-IP counter items. Only days with statistics are read (every
    report writes its day totals before its sources)."""
    account, env = tenant.account_id, tenant.environment
    asked = sorted(set(days))
    if not asked:
        return []
    counted = [row["day"] for row in daily_stats(tenant, domain_id, asked[0], asked[-1])]
    wanted = set(asked).intersection(counted)

    def partition(part: tuple[str, int | None]) -> list[tuple[str, str, dict[str, int]]]:
        day, shard = part
        if shard is None:
            items = _current_parts(_query_partition(t.report_sources_pk(account, env, domain_id, day)))
            return [
                (day, ip, counts)
                for item in items
                for ip, counts in decode_sources(_binary(item["rows"]), str(item["counters"]).split(","))
            ]
        pk = t.sources_pk(account, env, domain_id, day, shard)
        return [(day, str(item["sk"]), _counters_of(item)) for item in _query_partition(pk)]

    parts: list[tuple[str, int | None]] = [
        (day, shard) for day in sorted(wanted) for shard in (None, *range(t.SOURCE_SHARDS))
    ]
    merged: dict[tuple[str, str], dict[str, int]] = {}
    with ThreadPoolExecutor(max_workers=_PARALLEL_UPDATES) as pool:
        for rows in pool.map(partition, parts):
            for day, ip, counts in rows:
                total = merged.setdefault((day, ip), dict.fromkeys(COUNTERS, 0))
                for name in COUNTERS:
                    total[name] += counts.get(name, 0)
    return [{**counts, "day": day, "ip": ip} for (day, ip), counts in merged.items()]


def _current_parts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report source items to count: of each report, the parts of the cut its part 0 belongs to.

    The cut is deterministic for one version of the code; a run that died half way and a retry under
    another version (other part sizes) could leave parts of two cuts. The retry rewrites parts 0 to N-1
    before the report is flagged, so parts numbered N and above are left over and are not counted.
    """
    first = {str(i["report_id"]): int(i["parts"]) for i in items if str(i["sk"]).endswith("#0000")}
    kept = []
    for item in items:
        parts = first.get(str(item["report_id"]), int(item["parts"]))
        if int(item["parts"]) == parts and int(str(item["sk"]).rsplit("#", 1)[1]) < parts:
            kept.append(item)
    return kept


def _query_partition(pk: str) -> list[dict[str, Any]]:
    return list(query_items({"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": pk}}))


def _binary(value: Any) -> bytes:
    """A binary attribute as boto3's resource returns it (`Binary`, or bytes)."""
    return bytes(value.value) if hasattr(value, "value") else bytes(value)


def _counters_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: int(item.get(name, 0)) for name in COUNTERS}


# --- quarantine -------------------------------------------------------------------------------------


def _quarantine_owner(entry: QuarantineEntry) -> str:
    if entry.account_id and entry.environment:
        return t.tenant_pk(entry.account_id, entry.environment)
    return t.UNROUTED_PK


def put_quarantine(entry: QuarantineEntry, keep_for: timedelta = QUARANTINE_TTL) -> bool:
    """Store the entry, listed for `keep_for`, unless the same one (same derived id) exists; True if it
    was new."""
    owner = _quarantine_owner(entry)
    item = {
        **key(owner, t.quarantine_sk(entry.id)),
        "gsi1pk": t.quarantine_index_pk(owner),
        "gsi1sk": f"{ts(entry.created_at)}#{entry.id}",
        "type": "quarantine",
        **entry.model_dump(mode="json"),
        t.TABLE.ttl_attribute: int((entry.created_at + keep_for).timestamp()),
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


def correct_report_count(tenant: Tenant, stored: int, counted: int) -> bool:
    """Set the tenant's `report_count` to `counted` if it still holds `stored` (the reconciliation)."""
    return set_counter_if(key(_tpk(tenant), t.TENANT_META_SK), "report_count", stored, counted)
