"""Sending to the service's SQS queues (scan requests; uploads and reprocessing to the ingest queue)."""

from __future__ import annotations

import json
from typing import Any

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws


def send_scan_requests(messages: list[dict[str, Any]]) -> int:
    """Queue scan requests in batches of ten; returns how many were sent (0 when no queue is configured)."""
    url = get_settings().scan_queue_url
    if not url or not messages:
        return 0
    sqs = aws.client("sqs")
    sent = 0
    for start in range(0, len(messages), 10):
        batch = messages[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(batch)],
        )
        if response.get("Failed"):
            raise RuntimeError(
                f"scan queue refused {len(response['Failed'])} messages: {response['Failed'][0]}"
            )
        sent += len(batch)
    return sent


def send_ingest_request(body: str) -> None:
    """Queue one ingestion request (an upload or a reprocessing run) for the parser worker."""
    url = get_settings().ingest_queue_url
    if not url:
        raise RuntimeError("no ingest queue is configured (DMARCWATCH_INGEST_QUEUE_URL)")
    aws.client("sqs").send_message(QueueUrl=url, MessageBody=body)
