"""The WHOIS worker Lambda: lookup requests from the WHOIS queue -> RDAP -> stored WHOIS (partial batch
failures). A handler module only: `refresh.run_requests` does the work, for the whole batch at once
(its lookups run concurrently) when the first message is processed; each message then reports its own
outcome, so one bad message is retried and parked alone."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from dmarcwatch.observability import logger, metrics, sqs_worker, tracer
from dmarcwatch.whois.messages import WhoisRequest
from dmarcwatch.whois.refresh import Done, Outcome, run_requests

_records: list[dict[str, Any]] = []
_outcomes: dict[str, Outcome | Exception] | None = None


def _run_batch() -> dict[str, Outcome | Exception]:
    outcomes: dict[str, Outcome | Exception] = {}
    requests: dict[str, WhoisRequest] = {}
    for record in _records:
        try:
            requests[record["messageId"]] = WhoisRequest.model_validate_json(record["body"])
        except ValidationError as error:
            outcomes[record["messageId"]] = error
    outcomes.update(zip(requests, run_requests(list(requests.values())), strict=True))
    return outcomes


@tracer.capture_method(capture_response=False, capture_error=False)
def process_record(record: SQSRecord) -> None:
    global _outcomes
    if _outcomes is None:
        _outcomes = _run_batch()
    outcome = _outcomes.get(record.message_id) or KeyError(f"message {record.message_id} is not in the batch")
    if isinstance(outcome, Exception):
        raise outcome
    if outcome.done is Done.RECORDED:
        metrics.add_metric(name="WhoisLookups", unit=MetricUnit.Count, value=1)
        if outcome.expiring_event:
            metrics.add_metric(name="DomainsExpiring", unit=MetricUnit.Count, value=1)
    logger.info(
        "whois",
        extra={"done": outcome.done.value, "status": outcome.status.value if outcome.status else None},
    )


_handle_batch = sqs_worker(process_record, "WhoisMessages")


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _records, _outcomes
    _records, _outcomes = list(event.get("Records", [])), None
    try:
        return _handle_batch(event, context)
    finally:
        _records, _outcomes = [], None
