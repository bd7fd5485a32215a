"""Create the embedded AWS resources from the same definitions the CDK stack uses."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.plans import PLANS, gateway_limits
from dmarcwatch.store import aws, db, gateway

INGEST_QUEUE = "dmarcwatch-ingest"
RAW_PREFIX = "inbound/raw/"


def _queue_with_dlq(name: str, visibility_timeout: int) -> str:
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    url: str = sqs.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": str(visibility_timeout)},
    )["QueueUrl"]
    return url


def bootstrap_inbound() -> str:
    """The ingest queue (with its DLQ) fed by the raw bucket's ObjectCreated events, as in AWS."""
    url = _queue_with_dlq(INGEST_QUEUE, visibility_timeout=30)
    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=get_settings().raw_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": RAW_PREFIX}]}},
                }
            ]
        },
    )
    return url


SCAN_QUEUE = "dmarcwatch-scan"


def bootstrap_scanning() -> str:
    return _queue_with_dlq(SCAN_QUEUE, visibility_timeout=120)


EXPORT_QUEUE = "dmarcwatch-export"
WHOIS_QUEUE = "dmarcwatch-whois"


def bootstrap_task_queues() -> dict[str, str]:
    """The export and WHOIS queues (with their DLQs): the environment variables naming their URLs."""
    return {
        "DMARCWATCH_EXPORT_QUEUE_URL": _queue_with_dlq(EXPORT_QUEUE, visibility_timeout=900),
        "DMARCWATCH_WHOIS_QUEUE_URL": _queue_with_dlq(WHOIS_QUEUE, visibility_timeout=120),
    }


def bootstrap() -> None:
    settings = get_settings()
    try:
        db.create_table()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    s3 = aws.client("s3")
    for bucket in (settings.raw_bucket, settings.exports_bucket):
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in (
                "BucketAlreadyOwnedByYou",
                "BucketAlreadyExists",
            ):
                raise
    if gateway.usage_plan_ids() is None:
        plan_ids = {}
        for name, plan in PLANS.items():
            limits = gateway_limits(plan)
            plan_ids[name.value] = gateway.create_usage_plan(
                f"dmarcwatch-{name.value}", limits.rate_per_second, limits.burst, limits.quota_per_day
            )
        gateway.publish_usage_plan_ids(plan_ids)
