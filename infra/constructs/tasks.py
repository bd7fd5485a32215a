"""Background tasks the API asks for: the export queue, the WHOIS queue (each with its DLQ) and the exports
bucket the export worker writes and the API presigns downloads from.

    API (exports group) ---------> export queue (DLQ after 5 receives) --> export worker --> exports bucket
    API (refresh_whois), schedule -> WHOIS queue (DLQ after 5 receives) --> WHOIS worker

Who sends and who consumes comes from the registry, as for the other queues (infra/constructs/functions.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dmarcwatch.api.registry import Resource, WorkerFunction
from infra.constructs.access import EXPORTS_PREFIX
from infra.constructs.inbound import SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, VISIBILITY_TIMEOUT_FACTOR
from infra.constructs.queues import work_queue

# Export files are downloads, not records: a week to fetch them (the export items expire with them).
EXPORTS_EXPIRE_AFTER = Duration.days(7)
# Before a worker consumes a queue (or when none does yet), messages wait this long between receives.
DEFAULT_VISIBILITY_TIMEOUT = Duration.minutes(15)


def task_visibility_timeout(workers: Iterable[WorkerFunction], trigger: Resource) -> Duration:
    """6x the longest timeout of the workers `trigger` feeds, capped at SQS's 12 hours."""
    timeouts = [w.timeout_seconds for w in workers if w.trigger is trigger]
    if not timeouts:
        return DEFAULT_VISIBILITY_TIMEOUT
    return Duration.seconds(min(VISIBILITY_TIMEOUT_FACTOR * max(timeouts), 12 * 3600))


class Tasks(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workers: Iterable[WorkerFunction],
        access_log_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        # Access logs delivered under the log bucket's policy, as for the raw bucket (see inbound.py).
        self.node.set_context(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, True)
        workers = list(workers)
        export_timeout = task_visibility_timeout(workers, Resource.EXPORT_QUEUE)
        whois_timeout = task_visibility_timeout(workers, Resource.WHOIS_QUEUE)
        self.export_queue, self.export_dead_letter_queue = work_queue(self, "Export", export_timeout)
        self.whois_queue, self.whois_dead_letter_queue = work_queue(self, "Whois", whois_timeout)
        # When the oldest waiting task alarms: two visibility timeouts (a task that failed twice).
        self.export_max_message_age = Duration.seconds(2 * export_timeout.to_seconds())
        self.whois_max_message_age = Duration.seconds(2 * whois_timeout.to_seconds())
        self.exports_bucket = s3.Bucket(
            self,
            "ExportsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=access_log_bucket,
            server_access_logs_prefix="exports/",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-exports", prefix=EXPORTS_PREFIX, expiration=EXPORTS_EXPIRE_AFTER),
                # Unfinished multipart uploads of a failed export cost storage until aborted.
                s3.LifecycleRule(
                    id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    @property
    def queues(self) -> dict[Resource, sqs.IQueue]:
        return {Resource.EXPORT_QUEUE: self.export_queue, Resource.WHOIS_QUEUE: self.whois_queue}
