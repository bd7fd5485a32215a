"""What the Lambda entry points set up and when: the Tracer on first use, the settings from the environment,
partial batch responses of the queue workers, and the SnapStart hooks of the API functions."""

from __future__ import annotations

from typing import Any

import pytest

from dmarcwatch import observability
from dmarcwatch.config import Settings
from dmarcwatch.local.lambda_runtime import LocalLambdaContext
from dmarcwatch.local.lambda_runtime import sqs_event as local_sqs_event

CONTEXT = LocalLambdaContext("dmarcwatch-test")


def test_the_tracer_is_created_by_the_first_traced_call() -> None:
    tracer = observability.LazyTracer("test")

    @tracer.capture_method(capture_response=False, capture_error=False)
    def double(value: int) -> int:
        return 2 * value

    assert tracer._tracer is None
    assert double(21) == 42
    assert tracer._tracer is tracer.get()
    assert double(1) == 2
    assert double.__name__ == "double"


def test_settings_come_from_the_environment_under_the_constructors_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DMARCWATCH_DNS_NAMESERVERS", "192.0.2.1, 192.0.2.2")
    monkeypatch.setenv("dmarcwatch_dns_port", "5353")  # names are case-insensitive, as before
    monkeypatch.setenv("DMARCWATCH_AGGREGATE_PARALLELISM", "3")
    monkeypatch.setenv("DMARCWATCH_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert settings.dns_nameservers == ["192.0.2.1", "192.0.2.2"]
    assert settings.dns_port == 5353
    assert settings.aggregate_parallelism == 3
    assert Settings(dns_port=53).dns_port == 53
    monkeypatch.setenv("DMARCWATCH_AGGREGATE_PARALLELISM", "0")
    with pytest.raises(ValueError, match="aggregate_parallelism"):
        Settings()


def sqs_event(*bodies: str) -> dict[str, Any]:
    messages = [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": body} for i, body in enumerate(bodies)
    ]
    return local_sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:queue")


def fail_on_bad(record: Any) -> None:
    if record.body == "bad":
        raise RuntimeError("bad message")


def test_a_queue_worker_reports_only_the_failed_messages() -> None:
    handler = observability.sqs_worker(fail_on_bad, "TestMessages")
    assert handler(sqs_event("ok", "bad", "ok"), CONTEXT) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert handler(sqs_event("ok"), CONTEXT) == {"batchItemFailures": []}
    assert handler({"Records": []}, CONTEXT) == {"batchItemFailures": []}


def test_a_queue_worker_fails_the_invocation_when_every_message_failed() -> None:
    handler = observability.sqs_worker(fail_on_bad, "TestMessages")
    with pytest.raises(ExceptionGroup) as raised:
        handler(sqs_event("bad", "bad"), CONTEXT)
    assert len(raised.value.exceptions) == 2


def test_snapstart_hooks_prepare_the_snapshot_and_renew_the_clients_after_restore() -> None:
    from dmarcwatch.api import lambda_entry, snapstart
    from dmarcwatch.store import aws

    lambda_entry.make_handler("meta")
    try:
        snapstart.run_before_snapshot()
        assert observability.tracer._tracer is not None
        before = aws.resource("dynamodb"), aws.client("sqs")
        snapstart.run_after_restore()
        after = aws.resource("dynamodb"), aws.client("sqs")
        assert before[0] is not after[0]
        assert before[1] is not after[1]
    finally:
        aws.forget_clients()  # made outside any test's moto
