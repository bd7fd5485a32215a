"""The scanner Lambda: scan requests from the scan queue -> scan, diff, record (partial batch failures).

A handler module only. The messages of an invocation are scanned together (`service.run_scan_requests`:
concurrently, over one resolver socket) when the batch processor hands over the first of them; each
message then reports its own outcome or failure, so one bad message is retried and parked alone.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from dmarcwatch.observability import logger, metrics, sqs_worker, tracer
from dmarcwatch.scanning.messages import ScanRequest
from dmarcwatch.scanning.service import ScanOutcome, ScanRun, run_scan_requests


class _Batch:
    """The invocation's messages and, once scanned, each one's outcome by message id."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.outcomes: dict[str, ScanOutcome | Exception] | None = None

    def start(self, records: list[dict[str, Any]]) -> None:
        self.records, self.outcomes = records, None

    def outcome(self, message_id: str) -> ScanOutcome | Exception:
        if self.outcomes is None:
            self.outcomes = _scan_batch(self.records)
        return self.outcomes.get(message_id) or KeyError(f"message {message_id} is not in the batch")


def _scan_batch(records: list[dict[str, Any]]) -> dict[str, ScanOutcome | Exception]:
    outcomes: dict[str, ScanOutcome | Exception] = {}
    requests: dict[str, ScanRequest] = {}
    for record in records:
        try:
            requests[record["messageId"]] = ScanRequest.model_validate_json(record["body"])
        except ValidationError as error:
            outcomes[record["messageId"]] = error
    outcomes.update(zip(requests, run_scan_requests(list(requests.values())), strict=True))
    return outcomes


_batch = _Batch()


@tracer.capture_method(capture_response=False, capture_error=False)
def process_record(record: SQSRecord) -> None:
    outcome = _batch.outcome(record.message_id)
    if isinstance(outcome, Exception):
        raise outcome
    request = ScanRequest.model_validate_json(record.body)
    run, recorded = outcome
    if run is ScanRun.GONE:
        logger.info("scan skipped: domain deleted", extra={"domain": request.domain})
        return
    if run is ScanRun.HANDED_BACK:
        metrics.add_metric(name="ScanRequestsHandedBack", unit=MetricUnit.Count, value=1)
        logger.info("scan request handed back to the schedule", extra={"domain": request.domain})
        return
    assert recorded is not None
    metrics.add_metric(name="DomainsScanned", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="DnsChanges", unit=MetricUnit.Count, value=len(recorded.changes))
    logger.info(
        "scanned",
        extra={
            "domain": request.domain,
            "origin": request.origin.value,
            "changes": len(recorded.changes),
            "errors": len(recorded.result.errors),
            "queries": recorded.result.queries_sent,
        },
    )


_handle_batch = sqs_worker(process_record, "ScanMessages")


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _batch.start(list(event.get("Records", [])))
    try:
        return _handle_batch(event, context)
    finally:
        _batch.start([])
