"""Names shared by every function's Powertools Logger, Tracer and Metrics, and the queue-worker wrapper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "dmarcwatch"
NAMESPACE = "Dmarcwatch"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def sqs_worker(
    process_record: Callable[[SQSRecord], None], messages_metric: str
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A queue-fed Lambda handler: each message processed on its own, failures reported per message
    (partial batch response), so one bad message is retried and finally parked in the DLQ alone."""
    processor = BatchProcessor(event_type=EventType.SQS)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        metrics.add_metric(name=messages_metric, unit=MetricUnit.Count, value=len(event.get("Records", [])))
        response = process_partial_response(
            event=event, record_handler=process_record, processor=processor, context=context
        )
        return dict(response)

    # The parametrised Tracer decorator is typed loosely; the wrapped handler keeps this signature.
    wrapped: Callable[[dict[str, Any], LambdaContext], dict[str, Any]] = handler
    return wrapped
