"""Inbound: the raw bucket, SES receiving for the reports domain, and the ingest queue the workers consume.

    mail for <reportsDomain> --SES receipt rule (spam/virus scan, TLS required)--> s3://raw/inbound/raw/<id>
    s3 ObjectCreated (prefix inbound/raw/) --> ingest queue (DLQ after 5 receives) --> worker functions

The raw bucket also holds API uploads (`inbound/api/...`) and parsed payloads (`payloads/...`), written by
the functions that have `Resource.RAW_BUCKET` (infra/constructs/access.py says which prefixes each may
use). Raw input is kept for reprocessing, except objects the pipeline tags for short retention (mail no
account took, spam, viruses), which expire after 30 days; noncurrent versions expire.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from dmarcwatch.api.registry import Resource, WorkerFunction
from dmarcwatch.store.blobs import SHORT_RETENTION_TAG
from infra.constructs.access import INBOUND_PREFIX, RAW_MAIL_PREFIX
from infra.constructs.functions import LOG_RETENTION
from infra.constructs.queues import work_queue
from infra.constructs.ses_receiving import RuleSetChoice, add_receiving

# The construct id CDK gives its S3 notifications handler singleton (aws-s3 notifications-resource-handler).
NOTIFICATIONS_HANDLER_ID = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

# Raw input (mail under RAW_MAIL_PREFIX, uploads) is tiered and kept for reprocessing, except what the
# pipeline tags for short retention (SHORT_RETENTION_TAG: mail no account took, spam, viruses), which
# expires after SHORT_RETENTION; its noncurrent versions go a day later (review L2).
INFREQUENT_ACCESS_AFTER = Duration.days(30)
GLACIER_IR_AFTER = Duration.days(90)
NONCURRENT_VERSIONS_EXPIRE_AFTER = Duration.days(90)
SHORT_RETENTION = Duration.days(30)
SHORT_RETENTION_NONCURRENT_AFTER = Duration.days(1)
ABORT_MULTIPART_UPLOADS_AFTER = Duration.days(7)
ACCESS_LOGS_EXPIRE_AFTER = Duration.days(365)

# AWS: the visibility timeout of a queue feeding Lambda should be at least 6x the function timeout, so
# retries of a throttled or slow batch do not redeliver messages still being processed.
VISIBILITY_TIMEOUT_FACTOR = 6

# The SES inbound SMTP endpoint of the stack's region (published as the reports domain's MX).
MX_PRIORITY = 10
DNS_TTL = Duration.hours(1)


def inbound_smtp_host() -> str:
    return f"inbound-smtp.{Aws.REGION}.amazonaws.com"


def ingest_visibility_timeout(workers: Iterable[WorkerFunction]) -> Duration:
    """6x the longest timeout of the workers the ingest queue triggers."""
    timeouts = [w.timeout_seconds for w in workers if w.trigger is Resource.INGEST_QUEUE]
    if not timeouts:
        raise ValueError("no worker function consumes the ingest queue (trigger Resource.INGEST_QUEUE)")
    return Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * max(timeouts))


class HostedZoneRecords:
    """`hostedZoneId` + `hostedZoneName`: publish the reports domain's MX and the RFC 7489 §7.1 record."""

    def __init__(self, zone_id: str, zone_name: str) -> None:
        self.zone_id = zone_id
        self.zone_name = zone_name.rstrip(".").lower()


class Inbound(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        reports_domain: str,
        workers: Iterable[WorkerFunction],
        rule_set: RuleSetChoice = RuleSetChoice(),
        hosted_zone: HostedZoneRecords | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Server access logs are delivered under a bucket policy for logging.s3.amazonaws.com (CDK adds it,
        # scoped to the source bucket and account), not by the legacy LogDeliveryWrite ACL, so both buckets
        # keep ACLs disabled. cdk.json sets no feature flags; this one applies to this construct only.
        self.node.set_context(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, True)
        self.reports_domain = reports_domain.rstrip(".").lower()

        self._buckets()
        self._queues(ingest_visibility_timeout(workers))
        self.receiving = add_receiving(
            self, stage=stage, reports_domain=self.reports_domain, bucket=self.raw_bucket, choice=rule_set
        )
        self.rule = self.receiving.rule
        self.mx_value = f"{MX_PRIORITY} {inbound_smtp_host()}"
        self.records = self._records(hosted_zone) if hosted_zone else None

    # --- bucket -------------------------------------------------------------------------------------

    def _buckets(self) -> None:
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # server access logging supports SSE-S3 only
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=ACCESS_LOGS_EXPIRE_AFTER),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # No access logs of its own (a log object per delivered log object). cdk-nag's S1 does not fire:
        # it recognises a bucket that is another bucket's access log destination in the same stack.

        # The notifications handler (CDK's custom resource writing the bucket's notification configuration)
        # gets this role instead of its default one, which carries the AWSLambdaBasicExecutionRole managed
        # policy and s3:PutBucketNotification on "*". `without_policy_updates()` keeps CDK from adding
        # those; the role gets exactly its bucket and its own log group below.
        self._notifications_logs = logs.LogGroup(
            self, "NotificationsHandlerLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        self._notifications_role = iam.Role(
            self,
            "NotificationsHandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="dmarcwatch: writes the raw bucket's S3 event notification configuration",
        )
        self._notifications_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self._notifications_logs.log_group_arn],
            )
        )

        self.raw_bucket = s3.Bucket(
            self,
            "RawBucket",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="raw/",
            notifications_handler_role=self._notifications_role.without_policy_updates(),
            lifecycle_rules=[
                # Raw mail and uploads are the input of every reprocessing: tiered, never expired.
                s3.LifecycleRule(
                    id="tier-inbound",
                    prefix=INBOUND_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=INFREQUENT_ACCESS_AFTER,
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=GLACIER_IR_AFTER,
                        ),
                    ],
                ),
                # Tagged by the pipeline (only functions with RAW_BUCKET may tag, and only inbound/): raw
                # input nobody needs to reprocess. The tag is set after the object is written, so the 30
                # days count from the object's creation.
                s3.LifecycleRule(
                    id="expire-short-retention-inbound",
                    prefix=INBOUND_PREFIX,
                    tag_filters={SHORT_RETENTION_TAG["Key"]: SHORT_RETENTION_TAG["Value"]},
                    expiration=SHORT_RETENTION,
                    noncurrent_version_expiration=SHORT_RETENTION_NONCURRENT_AFTER,
                ),
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=NONCURRENT_VERSIONS_EXPIRE_AFTER,
                    abort_incomplete_multipart_upload_after=ABORT_MULTIPART_UPLOADS_AFTER,
                ),
            ],
            # Every tenant's raw reports: deleting the stack must never delete them.
            removal_policy=RemovalPolicy.RETAIN,
        )
        self._notifications_role.add_to_policy(
            iam.PolicyStatement(actions=["s3:PutBucketNotification"], resources=[self.raw_bucket.bucket_arn])
        )

    # --- queues ---------------------------------------------------------------------------------------

    def _queues(self, visibility_timeout: Duration) -> None:
        self.ingest_queue, self.dead_letter_queue = work_queue(self, "Ingest", visibility_timeout)
        # A message is the key of one raw mail; the mail itself stays in S3 whatever happens to it.
        self.max_message_age = Duration.seconds(2 * visibility_timeout.to_seconds())

        self.raw_bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.ingest_queue),
            s3.NotificationKeyFilter(prefix=RAW_MAIL_PREFIX),
        )
        self._route_notifications_handler_logs()

    def _route_notifications_handler_logs(self) -> None:
        """Point CDK's notifications handler (a stack-level singleton) at its own log group, which its role
        may write. Fails the synth if a CDK upgrade changes the handler's construct tree."""
        handler = Stack.of(self).node.try_find_child(NOTIFICATIONS_HANDLER_ID)
        function = handler.node.try_find_child("Resource") if handler is not None else None
        if not isinstance(function, CfnResource):
            raise RuntimeError(
                f"CDK's {NOTIFICATIONS_HANDLER_ID} function was not found (aws-cdk-lib changed?)"
            )
        function.add_property_override("LoggingConfig.LogGroup", self._notifications_logs.log_group_name)
        # Its role is passed without policy updates, so CDK adds no dependency on the role's policy.
        function.node.add_dependency(self._notifications_role)

    # --- DNS ------------------------------------------------------------------------------------------

    def _records(self, hosted_zone: HostedZoneRecords) -> list[route53.RecordSet]:
        zone_name = hosted_zone.zone_name
        if self.reports_domain != zone_name and not self.reports_domain.endswith(f".{zone_name}"):
            raise ValueError(f"reportsDomain {self.reports_domain!r} is not in the hosted zone {zone_name!r}")
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=hosted_zone.zone_id, zone_name=zone_name
        )
        mx = route53.MxRecord(
            self,
            "MxRecord",
            zone=zone,
            record_name=f"{self.reports_domain}.",
            values=[route53.MxRecordValue(host_name=inbound_smtp_host(), priority=MX_PRIORITY)],
            ttl=DNS_TTL,
            comment="dmarcwatch: DMARC reports are received by SES",
        )
        # RFC 7489 §7.1: a domain whose rua/ruf points to another domain only gets reports if that domain
        # publishes <domain>._report._dmarc.<reportsDomain> TXT "v=DMARC1". The wildcard accepts reports for
        # every domain; routing to accounts (or quarantine) is the parser's job.
        verification = route53.TxtRecord(
            self,
            "ExternalDestinationRecord",
            zone=zone,
            record_name=f"*._report._dmarc.{self.reports_domain}.",
            values=["v=DMARC1"],
            ttl=DNS_TTL,
            comment="dmarcwatch: RFC 7489 external report destination verification",
        )
        return [mx, verification]
