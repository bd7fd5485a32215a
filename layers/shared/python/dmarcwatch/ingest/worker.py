"""The parser worker: ingest queue messages (SES notifications, S3 events, API jobs) -> the pipeline.

Failures are reported per message (`observability.sqs_worker`), so one bad message is retried and, after
the queue's maxReceiveCount, parked in the DLQ, without holding back the rest of the batch. Bad *input*
never fails a message: the pipeline quarantines it. Only infrastructure errors (throttling, timeouts) do.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from dmarcwatch.ingest import jobs
from dmarcwatch.ingest.messages import IngestRequest, PurgeDomain, decode
from dmarcwatch.ingest.pipeline import IngestOutcome, ingest_object
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.observability import metrics, sqs_worker, tracer
from dmarcwatch.store import purge


def _count(outcome: IngestOutcome) -> None:
    metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=len(outcome.stored))
    metrics.add_metric(name="ReportsDuplicate", unit=MetricUnit.Count, value=len(outcome.duplicates))
    metrics.add_metric(name="ReportsQuarantined", unit=MetricUnit.Count, value=len(outcome.quarantined))


@tracer.capture_method(capture_response=False, capture_error=False)
def process_record(record: SQSRecord) -> None:
    message = decode(record.body)
    if isinstance(message, IngestRequest):
        _count(jobs.run(message))
        return
    if isinstance(message, PurgeDomain):
        tenant = Tenant(account_id=message.account_id, environment=Environment(message.environment))
        deleted = purge.purge_domain(tenant, message.domain_id)
        metrics.add_metric(name="PurgedItems", unit=MetricUnit.Count, value=deleted)
        return
    for raw in message:
        _count(ingest_object(raw.key, envelope=raw.envelope))


handler = sqs_worker(process_record, "IngestMessages")
