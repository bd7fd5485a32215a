"""Inbound: the raw bucket, SES receiving for the reports domain, and the ingest queue the workers consume.

    mail for <reportsDomain> --SES receipt rule (spam/virus scan, TLS required)--> s3://raw/inbound/raw/<id>
        the rule's S3 action then publishes SES's receipt notification --> receipt topic (SNS, KMS)
    receipt topic --> ingest queue (DLQ after 5 receives) --> worker functions (the parser)

The parser reads each mail's envelope (recipients) and SES's spam and virus verdicts from that
notification, never from headers the sender wrote (review M1), so raw mail reaches the queue only this
way: an S3 ObjectCreated notification as well would deliver every mail a second time without its envelope
(quarantined as unrouted, and tagged for short retention). Uploads and reprocessing runs are queued by the
API itself.

The raw bucket also holds API uploads (`inbound/api/...`) and parsed payloads (`payloads/...`), written by
the functions that have `Resource.RAW_BUCKET` (infra/constructs/access.py says which prefixes each may
use). Raw input is kept for reprocessing, except objects the pipeline tags for short retention (mail no
account took, spam, viruses), which expire after 30 days; noncurrent versions expire.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from dmarcwatch.api.registry import Resource, WorkerFunction
from dmarcwatch.store.blobs import SHORT_RETENTION_DAYS, SHORT_RETENTION_TAG
from infra.constructs.access import CACHE_PREFIX, INBOUND_PREFIX
from infra.constructs.queues import work_queue
from infra.constructs.ses_receiving import RuleSetChoice, add_receiving

SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

# Raw input (mail under RAW_MAIL_PREFIX, uploads) is tiered and kept for reprocessing, except what the
# pipeline tags for short retention (SHORT_RETENTION_TAG: mail no account took, spam, viruses), which
# expires after SHORT_RETENTION; its noncurrent versions go a day later (review L2).
INFREQUENT_ACCESS_AFTER = Duration.days(30)
GLACIER_IR_AFTER = Duration.days(90)
NONCURRENT_VERSIONS_EXPIRE_AFTER = Duration.days(90)
SHORT_RETENTION = Duration.days(SHORT_RETENTION_DAYS)
SHORT_RETENTION_NONCURRENT_AFTER = Duration.days(1)
# Computed snapshots the API keeps for minutes (`dmarcwatch.store.blobs.put_snapshot`): gone the next day.
CACHE_EXPIRES_AFTER = Duration.days(1)
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
        self._receipt_topic()
        self.receiving = add_receiving(
            self,
            stage=stage,
            reports_domain=self.reports_domain,
            bucket=self.raw_bucket,
            topic=self.receipt_topic,
            choice=rule_set,
        )
        self.rule = self.receiving.rule
        # SES checks it may publish when the rule is saved: the topic and its policy (and key) come first.
        self.rule.node.add_dependency(self.receipt_topic, self.receipt_key)
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
                    id="expire-cache",
                    prefix=CACHE_PREFIX,
                    expiration=CACHE_EXPIRES_AFTER,
                    noncurrent_version_expiration=CACHE_EXPIRES_AFTER,
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

    # --- queues ---------------------------------------------------------------------------------------

    def _queues(self, visibility_timeout: Duration) -> None:
        self.ingest_queue, self.dead_letter_queue = work_queue(self, "Ingest", visibility_timeout)
        # A message names one raw mail (or one upload); the input itself stays in S3 whatever happens to it.
        self.max_message_age = Duration.seconds(2 * visibility_timeout.to_seconds())

    def _receipt_topic(self) -> None:
        """The topic SES publishes each stored mail's receipt notification to, feeding the ingest queue."""
        self.receipt_key = kms.Key(
            self,
            "ReceiptTopicKey",
            description="dmarcwatch: encrypts SES receipt notifications (envelope recipients, verdicts)",
            enable_key_rotation=True,
        )
        # SES publishes to the encrypted topic, so it must be able to use the key (for this account only).
        self.receipt_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.receipt_topic = sns.Topic(
            self,
            "ReceiptTopic",
            display_name="dmarcwatch: SES receipt notifications of the reports domain",
            master_key=self.receipt_key,
            enforce_ssl=True,
        )
        self.receipt_topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.receipt_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        # The SNS envelope is kept (no raw delivery): the parser unwraps it (dmarcwatch.ingest.messages).
        # CDK adds the queue policy letting this topic, and only it, send to the queue.
        self.receipt_topic.add_subscription(subscriptions.SqsSubscription(self.ingest_queue))

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
