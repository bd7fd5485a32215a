"""Builds the Lambda handler of one API function group: Mangum over that group's routers.

With SnapStart (infra/constructs/functions.py) Lambda initialises the function once, when a version is
published, and restores new environments from a snapshot of it; the hooks registered here decide what the
snapshot holds and what each restored environment makes its own.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from dmarcwatch.api import snapstart
from dmarcwatch.api.app import create_app
from dmarcwatch.api.registry import group_named
from dmarcwatch.config import get_settings
from dmarcwatch.observability import logger, metrics, tracer
from dmarcwatch.services import aws_clients


def make_handler(group_name: str) -> Any:
    group = group_named(group_name)
    asgi = Mangum(create_app([group], prefix=""), lifespan="off")
    snapstart.register_before_snapshot(before_snapshot)
    snapstart.register_after_restore(after_restore)

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        _ensure_event_loop()
        # Mangum's context protocol and Powertools' LambdaContext describe the same object differently.
        response: dict[str, Any] = asgi(event, cast(Any, context))
        metrics.add_metric(name=f"Responses{response['statusCode'] // 100}xx", unit=MetricUnit.Count, value=1)
        return response

    return handler


def _ensure_event_loop() -> None:
    """Mangum runs each request on the thread's current event loop (`asyncio.get_event_loop`). Once any
    code of the process has run `asyncio.run` on this thread, there is none (it sets the loop to None),
    and every later request would fail: give the thread a new loop then."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def before_snapshot() -> None:
    """Into the snapshot goes what the first request would otherwise set up: the Tracer (the X-Ray SDK),
    the settings and the AWS clients. Nothing here sends a request, so the snapshot holds no connection and
    no secret (the cursor secret is read by the first request that needs it)."""
    tracer.get()
    get_settings()
    aws_clients.prepare()


def after_restore() -> None:
    """Each restored environment gets its own random state (else all share the snapshot's, e.g. the retry
    jitter of store.db and botocore; ids, keys and DNS query ids come from the OS, not from `random`) and
    its own AWS clients (credentials and connection pools)."""
    random.seed()
    aws_clients.renew()
