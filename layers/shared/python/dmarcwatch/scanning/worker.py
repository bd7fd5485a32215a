"""The scanner Lambda: scan requests from the scan queue -> scan, diff, record (partial batch failures).

A handler module only: it reads the message, runs `service.run_scan_request` and records metrics.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from dmarcwatch.observability import logger, metrics, sqs_worker, tracer
from dmarcwatch.scanning.messages import ScanRequest
from dmarcwatch.scanning.service import ScanRun, run_scan_request


@tracer.capture_method(capture_response=False, capture_error=False)
def process_record(record: SQSRecord) -> None:
    request = ScanRequest.model_validate_json(record.body)
    run, recorded = run_scan_request(request)
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
        },
    )


handler = sqs_worker(process_record, "ScanMessages")
