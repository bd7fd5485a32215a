"""Running the parser worker over what the API queued, as the Lambda event source would."""

from __future__ import annotations

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
