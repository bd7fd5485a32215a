"""Builds the Lambda handler of one API function group: Mangum over that group's routers."""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from dmarcwatch.api.app import create_app
from dmarcwatch.api.registry import group_named
from dmarcwatch.observability import logger, metrics, tracer


def make_handler(group_name: str) -> Any:
    group = group_named(group_name)
    asgi = Mangum(create_app([group], prefix=""), lifespan="off")

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Mangum's context protocol and Powertools' LambdaContext describe the same object differently.
        response: dict[str, Any] = asgi(event, cast(Any, context))
        metrics.add_metric(name=f"Responses{response['statusCode'] // 100}xx", unit=MetricUnit.Count, value=1)
        return response

    return handler
