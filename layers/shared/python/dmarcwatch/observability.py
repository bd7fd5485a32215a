"""Names shared by every function's Powertools Logger, Tracer and Metrics, and the queue-worker wrapper.

The Tracer is created when the first traced call runs, not at import: creating it imports the X-Ray SDK,
whose recorder builds two botocore clients for sampling rules it never uses in Lambda (about as long as
importing boto3), and patches the traced libraries. Only botocore is patched: the AWS calls are what a
trace of this service shows, and `patch_all` would import and patch every HTTP and database library that
happens to be installed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "dmarcwatch"
NAMESPACE = "Dmarcwatch"
TRACED_MODULES = ("botocore",)

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class LazyTracer:
    """Powertools' Tracer behind the same decorators, created on first use (see the module docstring).

    The decorators take sync functions only (every traced function here is sync)."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    def get(self) -> Tracer:
        """The Tracer, created (X-Ray SDK imported, botocore patched) by the first caller."""
        with self._lock:
            if self._tracer is None:
                from aws_lambda_powertools import Tracer

                self._tracer = Tracer(service=self._service, patch_modules=TRACED_MODULES)
            return self._tracer

    def capture_lambda_handler(
        self, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[F], F]:
        return self._lazily(
            lambda tracer, function: tracer.capture_lambda_handler(
                function, capture_response=capture_response, capture_error=capture_error
            )
        )

    def capture_method(
        self, *, capture_response: bool | None = None, capture_error: bool | None = None
    ) -> Callable[[F], F]:
        return self._lazily(
            lambda tracer, function: tracer.capture_method(
                capture_response=capture_response, capture_error=capture_error
            )(function)
        )

    def _lazily(
        self, decorate: Callable[[Tracer, Callable[..., Any]], Callable[..., Any]]
    ) -> Callable[[F], F]:
        def decorator(function: F) -> F:
            traced: list[Callable[..., Any]] = []

            @functools.wraps(function)
            def call(*args: Any, **kwargs: Any) -> Any:
                if not traced:
                    traced.append(decorate(self.get(), function))
                return traced[0](*args, **kwargs)

            return cast(F, call)

        return decorator


tracer = LazyTracer(SERVICE)


def sqs_worker(
    process_record: Callable[[SQSRecord], None], messages_metric: str
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """A queue-fed Lambda handler: each message processed on its own, failures reported per message
    (partial batch response), so one bad message is retried and finally parked in the DLQ alone.

    What Powertools' `process_partial_response` does for SQS, without importing its batch utilities (a
    cold start spends about a third of the boto3 baseline on them): a failed message is logged and named in
    `batchItemFailures`; when every message failed, the invocation fails (the function's error alarm) and
    the whole batch returns to the queue."""
    # Imported here: only the queue workers need it.
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records: list[dict[str, Any]] = event.get("Records", [])
        metrics.add_metric(name=messages_metric, unit=MetricUnit.Count, value=len(records))
        failures: list[dict[str, str]] = []
        errors: list[Exception] = []
        for record in records:
            try:
                process_record(SQSRecord(record))
            except Exception as error:
                logger.warning(
                    "message failed; it returns to the queue",
                    exc_info=True,
                    extra={"message_id": record["messageId"]},
                )
                failures.append({"itemIdentifier": record["messageId"]})
                errors.append(error)
        if records and len(errors) == len(records):
            raise ExceptionGroup(f"all {len(records)} messages of the batch failed", errors)
        return {"batchItemFailures": failures}

    # Logger's decorator is typed loosely; the wrapped handler keeps this signature.
    wrapped: Callable[[dict[str, Any], LambdaContext], dict[str, Any]] = handler
    return wrapped
