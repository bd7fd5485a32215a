"""Sending to the service's SQS queues: scan requests, uploads and reprocessing (ingest), exports and WHOIS
lookups."""

from __future__ import annotations

import json
from typing import Any

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws

# SQS delays a message by 15 minutes at most.
MAX_DELAY_SECONDS = 900


def _send_batches(url: str | None, bodies: list[str], what: str) -> int:
    """Send in batches of ten; returns how many were sent (0 when no queue is configured)."""
    if not url or not bodies:
        return 0
    sqs = aws.client("sqs")
    sent = 0
    for start in range(0, len(bodies), 10):
        batch = bodies[start : start + 10]
        response = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
        )
        if response.get("Failed"):
            raise RuntimeError(
                f"{what} queue refused {len(response['Failed'])} messages: {response['Failed'][0]}"
            )
        sent += len(batch)
    return sent


def send_scan_requests(messages: list[dict[str, Any]]) -> int:
    """Queue scan requests; returns how many were sent (0 when no queue is configured)."""
    return _send_batches(get_settings().scan_queue_url, [json.dumps(m) for m in messages], "scan")


def send_whois_requests(bodies: list[str]) -> int:
    """Queue WHOIS/RDAP lookups; returns how many were sent (0 when no queue is configured)."""
    return _send_batches(get_settings().whois_queue_url, bodies, "WHOIS")


def send_whois_request_later(body: str, delay_seconds: int) -> bool:
    """Queue one WHOIS lookup to be delivered after `delay_seconds` (at most SQS's 900); False when no
    queue is configured."""
    url = get_settings().whois_queue_url
    if not url:
        return False
    delay = max(0, min(delay_seconds, MAX_DELAY_SECONDS))
    aws.client("sqs").send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)
    return True


def send_export_request(body: str) -> None:
    """Queue one export run for the export worker."""
    url = get_settings().export_queue_url
    if not url:
        raise RuntimeError("no export queue is configured (DMARCWATCH_EXPORT_QUEUE_URL)")
    aws.client("sqs").send_message(QueueUrl=url, MessageBody=body)


def send_ingest_request(body: str) -> None:
    """Queue one ingestion request (an upload or a reprocessing run) for the parser worker."""
    url = get_settings().ingest_queue_url
    if not url:
        raise RuntimeError("no ingest queue is configured (DMARCWATCH_INGEST_QUEUE_URL)")
    aws.client("sqs").send_message(QueueUrl=url, MessageBody=body)
