"""The local queue worker: long-polls a queue and feeds its messages to the real Lambda handler.

Messages the handler reports as failed stay on the queue, become visible again and are retried; the
queue's redrive policy moves them to the DLQ after five receives, as the Lambda event source would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
from dmarcwatch.observability import logger
from dmarcwatch.store import aws


class QueueWorker:
    def __init__(
        self,
        name: str,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        batch_size: int,
    ) -> None:
        self.name = f"worker {name}"
        self._function = name
        self._queue_url = queue_url
        self._handler = handler
        self._batch_size = min(batch_size, 10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> str:
        self._thread.start()
        return self._queue_url

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        sqs = aws.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        while not self._stop.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=self._queue_url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                )
                messages = received.get("Messages", [])
                if not messages:
                    continue
                result = self._handler(sqs_event(messages, arn), LocalLambdaContext(self._function))
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
                done = [m for m in messages if m["MessageId"] not in failed]
                if done:
                    sqs.delete_message_batch(
                        QueueUrl=self._queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                        ],
                    )
            except Exception:  # the worker must outlive any one batch, like the Lambda service
                logger.exception("local worker batch failed", extra={"worker": self.name})
                self._stop.wait(1)
