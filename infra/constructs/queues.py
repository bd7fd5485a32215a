"""Work queues: SSE, TLS only, and a dead-letter queue that keeps what failed five times for 14 days."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

MAX_RECEIVE_COUNT = 5
DLQ_RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
    )


def work_queue(scope: Construct, name: str, visibility_timeout: Duration) -> tuple[sqs.Queue, sqs.Queue]:
    """`<name>Queue` and its `<name>DeadLetterQueue` (construct ids kept stable: they name resources)."""
    dlq = dead_letter_queue(scope, f"{name}DeadLetterQueue")
    queue = sqs.Queue(
        scope,
        f"{name}Queue",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=MAX_RECEIVE_COUNT),
    )
    return queue, dlq
