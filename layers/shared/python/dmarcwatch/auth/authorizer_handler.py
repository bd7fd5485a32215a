"""The authorizer Lambda's handler body (kept here so functions/authorizer stays one import)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarcwatch.auth.authorizer import Unauthorized, authorize
from dmarcwatch.auth.gateway_policy import TokenEvent
from dmarcwatch.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        policy = authorize(TokenEvent.of(event))
    except Unauthorized:
        metrics.add_metric(name="AuthorizerDenied", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="AuthorizerAllowed", unit=MetricUnit.Count, value=1)
    return policy
