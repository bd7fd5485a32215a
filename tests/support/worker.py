"""Running the parser worker over what the API queued, as the Lambda event source would."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from dmarcwatch.config import get_settings
from dmarcwatch.ingest.worker import process_record
from dmarcwatch.store import aws


def drain_ingest_queue(limit: int = 50) -> int:
    """Process every message on the ingest queue; returns how many there were."""
    sqs = aws.client("sqs")
    url = get_settings().ingest_queue_url
    done = 0
    while done < limit:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return done
        for message in messages:
            process_record(SQSRecord({"body": message["Body"], "messageId": message["MessageId"]}))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return done


def upload_report(client: Any, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """POST /v1/reports (202), run the worker, and return the finished upload (`report_ids`, ...)."""
    queued = client.post("/v1/reports", headers=headers, content=body)
    assert queued.status_code == 202, queued.text
    drain_ingest_queue()
    finished = client.get(queued.json()["data"]["status_url"], headers=headers)
    assert finished.status_code == 200, finished.text
    data: dict[str, Any] = finished.json()["data"]
    return data
