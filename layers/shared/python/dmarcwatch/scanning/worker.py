"""The scanner Lambda: scan requests from the scan queue -> scan, diff, record (partial batch failures)."""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel

from dmarcwatch.models import Environment, Tenant
from dmarcwatch.observability import logger, metrics, sqs_worker, tracer
from dmarcwatch.scanning.service import scan_and_record
from dmarcwatch.store import domains as domain_store


class ScanRequest(BaseModel):
    account_id: str
    environment: Environment
    domain: str


@tracer.capture_method
def process_record(record: SQSRecord) -> None:
    request = ScanRequest.model_validate(json.loads(record.body))
    tenant = Tenant(account_id=request.account_id, environment=request.environment)
    domain = domain_store.get_by_name(tenant, request.domain)
    if domain is None:
        logger.info("scan skipped: domain deleted", extra={"domain": request.domain})
        return
    recorded = scan_and_record(tenant, domain)
    metrics.add_metric(name="DomainsScanned", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="DnsChanges", unit=MetricUnit.Count, value=len(recorded.changes))
    logger.info(
        "scanned",
        extra={
            "domain": domain.name,
            "changes": len(recorded.changes),
            "errors": len(recorded.result.errors),
        },
    )


handler = sqs_worker(process_record, "ScanMessages")
