"""The export worker Lambda: export queue messages -> `export_runs.run` (partial batch failures).

A handler module only. A message fails (and returns to the queue) only when the export could not even be
claimed (DynamoDB unreachable, throttled); whatever goes wrong after the claim fails the export itself,
with its reason, so a client polling it learns at once instead of after the queue's retries.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarcwatch.export_model import ExportRequest
from dmarcwatch.observability import logger, metrics, sqs_worker, tracer
from dmarcwatch.services import export_runs


class _Clock:
    """When the current invocation must end (its context's remaining time, taken at the start)."""

    deadline = float("inf")

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()


_clock = _Clock()


@tracer.capture_method(capture_response=False, capture_error=False)
def process_record(record: SQSRecord) -> None:
    request = ExportRequest.model_validate_json(record.body)
    outcome = export_runs.run(request, _clock.seconds_left)
    metrics.add_metric(name=f"Exports{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "export run", extra={"export": request.export_id, "task": request.task_id, "outcome": outcome}
    )


_handle_batch = sqs_worker(process_record, "ExportMessages")


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _clock.deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    return _handle_batch(event, context)
