"""Deleting everything stored under a domain that was removed (review L2: no orphaned data, a deletion
path for personal data). Run by the parser worker after `DELETE /v1/domains/{id}` queued it; idempotent,
so a retried message finishes what a timed-out one began.

What goes: the domain's daily statistics, its sources (every day that has statistics: the per-report
source items and the legacy per-IP items of all shards), its reports with their records, applied-batch
markers and parsed payloads, the latest scan, the DNS change history, the DKIM selectors seen and the
WHOIS data. The raw mails stay under the bucket's own lifecycle: one mail can hold reports for several
domains.
"""

from __future__ import annotations

from typing import Any

from dmarcwatch import table as t
from dmarcwatch.config import get_settings
from dmarcwatch.models import ReportStatus, Tenant
from dmarcwatch.store import aws
from dmarcwatch.store.db import key, query_items, table


def _partition_keys(pk: str) -> list[dict[str, Any]]:
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": pk},
        "ProjectionExpression": "pk, sk",
    }
    return [{"pk": i["pk"], "sk": i["sk"]} for i in query_items(query)]


def _delete(keys: list[dict[str, Any]]) -> int:
    with table().batch_writer() as batch:
        for item_key in keys:
            batch.delete_item(Key=item_key)
    return len(keys)


def _domain_reports(tenant: Tenant, domain_id: str) -> list[dict[str, Any]]:
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "FilterExpression": "domain_id = :d",
        "ExpressionAttributeValues": {
            ":pk": t.reports_index_pk(tenant.account_id, tenant.environment),
            ":d": domain_id,
        },
        "ProjectionExpression": "pk, sk, id, payload_key, #s",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    return list(query_items(query))


def purge_domain(tenant: Tenant, domain_id: str) -> int:
    """Delete the domain's data; returns how many items went."""
    account, env = tenant.account_id, tenant.environment.value
    stats_pk = t.stats_pk(account, env, domain_id)
    days = [str(k["sk"]) for k in _partition_keys(stats_pk)]
    deleted = 0
    for day in days:
        deleted += _delete(_partition_keys(t.report_sources_pk(account, env, domain_id, day)))
        for shard in range(t.SOURCE_SHARDS):
            deleted += _delete(_partition_keys(t.sources_pk(account, env, domain_id, day, shard)))
    s3 = aws.client("s3")
    completed = 0
    for report in _domain_reports(tenant, domain_id):
        completed += report.get("status") == ReportStatus.COMPLETE.value
        report_id = str(report["id"])
        deleted += _delete(_partition_keys(t.records_pk(account, env, report_id)))
        deleted += _delete(_partition_keys(t.applied_pk(account, env, report_id)))
        if report.get("payload_key"):
            s3.delete_object(Bucket=get_settings().raw_bucket, Key=str(report["payload_key"]))
        deleted += _delete([{"pk": report["pk"], "sk": report["sk"]}])
    tenant_pk = t.tenant_pk(account, env)
    if completed:
        # The tenant's report count (a purge cut short leaves a drift the nightly reconciliation mends).
        table().update_item(
            Key=key(tenant_pk, t.TENANT_META_SK),
            UpdateExpression="ADD report_count :n",
            ExpressionAttributeValues={":n": -completed},
        )
    deleted += _delete(_partition_keys(t.changes_pk(account, env, domain_id)))
    deleted += _delete(_partition_keys(stats_pk))
    deleted += _delete(
        [
            key(tenant_pk, t.scan_sk(domain_id)),
            key(tenant_pk, t.dkim_selectors_sk(domain_id)),
            key(tenant_pk, t.whois_sk(domain_id)),
        ]
    )
    return deleted
