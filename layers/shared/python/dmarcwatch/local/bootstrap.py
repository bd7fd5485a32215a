"""Create the embedded AWS resources from the same definitions the CDK stack uses."""

from __future__ import annotations

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.plans import PLANS, gateway_limits
from dmarcwatch.store import aws, db, gateway


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
