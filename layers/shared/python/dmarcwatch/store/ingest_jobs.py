"""Uploads and reprocessing runs (`upl_…`): what the API answered 202 for, and how the worker ended it.

Item: pk=TENANT#<acct>#<env> sk=JOB#<id>, expiring after `JOB_TTL`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import IngestJob, IngestJobStatus, Tenant
from dmarcwatch.store.db import is_conditional_failure, key, table

JOB_TTL = timedelta(days=30)


def _key(account_id: str, environment: str, job_id: str) -> dict[str, str]:
    return key(t.tenant_pk(account_id, environment), t.ingest_job_sk(job_id))


def put_job(job: IngestJob) -> None:
    table().put_item(
        Item={
            **_key(job.account_id, job.environment, job.id),
            "type": "ingest_job",
            **job.model_dump(mode="json", exclude_none=True),
            t.TABLE.ttl_attribute: int((job.created_at + JOB_TTL).timestamp()),
        }
    )


def get_job(tenant: Tenant, job_id: str) -> IngestJob | None:
    item = table().get_item(
        Key=_key(tenant.account_id, tenant.environment.value, job_id), ConsistentRead=True
    )
    found: dict[str, Any] | None = item.get("Item")
    return IngestJob.model_validate(found) if found else None


def finish_job(job: IngestJob) -> None:
    """Record the outcome; a job already finished (a redelivered message) keeps its first outcome."""
    assert job.status != IngestJobStatus.PENDING
    try:
        _finish(job)
    except ClientError as error:
        if not is_conditional_failure(error):
            raise


def _finish(job: IngestJob) -> None:
    table().update_item(
        Key=_key(job.account_id, job.environment, job.id),
        UpdateExpression="SET #s = :s, finished_at = :at, report_ids = :r, duplicate_report_ids = :d, "
        "quarantined = :q",
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":s": job.status.value,
            ":pending": IngestJobStatus.PENDING.value,
            ":at": job.finished_at.isoformat() if job.finished_at else None,
            ":r": job.report_ids,
            ":d": job.duplicate_report_ids,
            ":q": job.quarantined,
        },
    )
