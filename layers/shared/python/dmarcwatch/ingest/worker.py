"""The parser worker: SQS messages carrying S3 ObjectCreated events -> the ingestion pipeline.

Failures are reported per message (Powertools batch utility), so one bad message is retried and, after
the queue's maxReceiveCount, parked in the DLQ, without holding back the rest of the batch. Bad *input*
never fails a message: the pipeline quarantines it. Only infrastructure errors (throttling, timeouts) do.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from dmarcwatch.ingest.pipeline import ingest_object
from dmarcwatch.observability import metrics, sqs_worker, tracer


def object_keys(body: str) -> list[str]:
    """The raw-mail keys in one S3 event notification (none for S3's test event)."""
    message: dict[str, Any] = json.loads(body)
    if message.get("Event") == "s3:TestEvent":
        return []
    keys = [unquote_plus(r["s3"]["object"]["key"]) for r in message.get("Records", []) if "s3" in r]
    # SES writes this object once when the receipt rule is saved, to check it may write to the bucket.
    return [k for k in keys if not k.endswith("/AMAZON_SES_SETUP_NOTIFICATION")]


@tracer.capture_method
def process_record(record: SQSRecord) -> None:
    for key in object_keys(record.body):
        outcome = ingest_object(key)
        metrics.add_metric(name="ReportsStored", unit=MetricUnit.Count, value=len(outcome.stored))
        metrics.add_metric(name="ReportsDuplicate", unit=MetricUnit.Count, value=len(outcome.duplicates))
        metrics.add_metric(name="ReportsQuarantined", unit=MetricUnit.Count, value=len(outcome.quarantined))


handler = sqs_worker(process_record, "IngestMessages")
