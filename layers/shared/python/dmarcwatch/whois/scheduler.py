"""The WHOIS scheduler Lambda (EventBridge schedule): a handler only; `schedule.dispatch_due` does the
work."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarcwatch.observability import logger, metrics, tracer
from dmarcwatch.whois.schedule import dispatch_due


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = dispatch_due()
    metrics.add_metric(name="WhoisRefreshesQueued", unit=MetricUnit.Count, value=outcome.queued)
    logger.info(
        "whois refreshes queued",
        extra={"queued": outcome.queued, "skipped": outcome.skipped, "canceled": outcome.canceled},
    )
    return {"queued": outcome.queued}
