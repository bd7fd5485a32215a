"""Inbound mail on the synthesized stack: raw bucket, SES receiving, ingest queue and DLQ, worker functions,
per-resource grants, alarms and outputs (the session's one synth, see conftest.py).

Hosted-zone records are asserted on the Inbound construct alone in a bare stack (no functions, no assets):
far cheaper than a second synth of the whole app.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.api.registry import (
    FUNCTION_GROUPS,
    SCHEDULED_FUNCTIONS,
    WORKER_FUNCTIONS,
    Resource,
    route_specs,
)
from tests.infra.test_stack import (
    _actions,
    _alarm_topic,
    _functions_by_name,
    _logical_id,
    _method_paths,
    _role_statements,
    _single,
)

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

RAW_PREFIX = "inbound/raw/"
INGEST_WORKERS = [w for w in WORKER_FUNCTIONS if w.trigger is Resource.INGEST_QUEUE]


# --- helpers ------------------------------------------------------------------------------------------


def _raw_bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    """The bucket SES writes to (not the access log target nor the exports bucket)."""
    [(logical_id, bucket)] = [
        (k, v)
        for k, v in synth.of_type("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in v["Properties"] and k.startswith("InboundRawBucket")
    ]
    return logical_id, bucket


def _bucket_policy(synth: Synth, bucket_id: str) -> list[dict[str, Any]]:
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    return policy


def _queues(synth: Synth) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(ingest queue, its dead-letter queue); the stack has other queues (scanning, schedules)."""
    inbound = synth.stack.inbound
    ingest_id = _logical_id(synth, inbound.ingest_queue)
    dlq_id = _logical_id(synth, inbound.dead_letter_queue)
    return (ingest_id, synth.resources[ingest_id]), (dlq_id, synth.resources[dlq_id])


def _denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def _queue_policy(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    [statements] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    return statements


# --- raw bucket ---------------------------------------------------------------------------------------


def test_raw_bucket_is_versioned_encrypted_private_and_retained(synth: Synth) -> None:
    bucket_id, bucket = _raw_bucket(synth)
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    [sse] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert _denies_insecure_transport(_bucket_policy(synth, bucket_id))


def _exports_bucket_id(synth: Synth) -> str:
    [bucket_id] = [k for k in synth.of_type("AWS::S3::Bucket") if k.startswith("TasksExportsBucket")]
    return bucket_id


def test_raw_bucket_logs_to_a_separate_private_bucket(synth: Synth) -> None:
    bucket_id, bucket = _raw_bucket(synth)
    log_target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert log_target != bucket_id
    log_bucket = synth.resources[log_target]
    assert log_bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    # Delivery by bucket policy for the logging service, scoped to the raw bucket; ACLs stay disabled.
    assert log_bucket["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    statements = _bucket_policy(synth, log_target)
    assert _denies_insecure_transport(statements)
    # One delivery grant per logged bucket (the raw bucket and the exports bucket), each scoped to it.
    deliveries = [s for s in statements if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"Service": "logging.s3.amazonaws.com"} for s in deliveries)
    sources = [s["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in deliveries]
    assert sorted(sources) == sorted([bucket_id, _exports_bucket_id(synth)])


def test_raw_bucket_lifecycle_tiers_inbound_and_expires_only_noncurrent_versions(synth: Synth) -> None:
    _, bucket = _raw_bucket(synth)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    [tiering] = [r for r in rules if r.get("Prefix") == "inbound/" and "TagFilters" not in r]
    assert tiering["Status"] == "Enabled"
    assert tiering["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER_IR", "TransitionInDays": 90},
    ]
    assert any(r.get("NoncurrentVersionExpiration") == {"NoncurrentDays": 90} for r in rules)
    # Raw input is never lost: the only rules expiring current objects are the tagged one (below) and the
    # one for computed snapshots under cache/.
    expiring = [r for r in rules if "ExpirationInDays" in r or "ExpirationDate" in r]
    assert expiring == [_short_retention_rule(rules), _cache_rule(rules)]


def _cache_rule(rules: list[dict[str, Any]]) -> dict[str, Any]:
    [rule] = [r for r in rules if r.get("Prefix") == "cache/"]
    return rule


def test_computed_snapshots_expire_the_next_day(synth: Synth) -> None:
    _, bucket = _raw_bucket(synth)
    rule = _cache_rule(bucket["Properties"]["LifecycleConfiguration"]["Rules"])
    assert rule["ExpirationInDays"] == 1
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def _short_retention_rule(rules: list[dict[str, Any]]) -> dict[str, Any]:
    [rule] = [r for r in rules if "TagFilters" in r]
    return rule


def test_raw_input_tagged_for_short_retention_expires_after_30_days(synth: Synth) -> None:
    """L2: mail no account took, spam and viruses (which the pipeline tags) are not kept for ever."""
    from dmarcwatch.store.blobs import SHORT_RETENTION_TAG

    _, bucket = _raw_bucket(synth)
    rule = _short_retention_rule(bucket["Properties"]["LifecycleConfiguration"]["Rules"])
    assert rule["Status"] == "Enabled"
    assert rule["TagFilters"] == [SHORT_RETENTION_TAG]
    assert SHORT_RETENTION_TAG == {"Key": "dmarcwatch-retention", "Value": "short"}
    # Raw input only: a tag on a payload (or anything else) expires nothing.
    assert rule["Prefix"] == "inbound/"
    assert rule["ExpirationInDays"] == 30
    # The expired current version becomes noncurrent; it goes a day later, not after the usual 90.
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


def test_only_the_pipeline_may_tag_and_only_raw_input(synth: Synth) -> None:
    """L2: the parser (the function running the pipeline) sets the short-retention tag on raw input (mail
    and uploads under inbound/); no other function may tag anything."""
    bucket_id, _ = _raw_bucket(synth)
    raw_input = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/inbound/*"]]}
    taggers = {}
    for name, (_, props) in _functions_by_name(synth).items():
        tagging = [s for s in _role_statements(synth, props) if "s3:PutObjectTagging" in _actions(s)]
        if tagging:
            [statement] = tagging
            assert _actions(statement) == ["s3:PutObjectTagging"], name
            taggers[name] = statement["Resource"]
    assert taggers == {"parser": raw_input}


# --- SES ----------------------------------------------------------------------------------------------------


def test_ses_may_write_raw_mail_only_for_this_account(synth: Synth) -> None:
    bucket_id, _ = _raw_bucket(synth)
    [ses] = [
        s
        for s in _bucket_policy(synth, bucket_id)
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "ses.amazonaws.com"}
    ]
    assert ses["Action"] == "s3:PutObject"
    assert ses["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert ses["Resource"]["Fn::Join"][1][-1] == f"/{RAW_PREFIX}*"
    # The rule is created after the policy (SES checks it can write when the rule is saved).
    [(policy_id, _)] = [
        (k, p)
        for k, p in synth.of_type("AWS::S3::BucketPolicy").items()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    _, rule = _single(synth, "AWS::SES::ReceiptRule")
    assert policy_id in rule["DependsOn"]


# --- queue, DLQ, notification ---------------------------------------------------------------------------


def test_ingest_queue_and_dead_letter_queue(synth: Synth) -> None:
    (ingest_id, ingest), (dlq_id, dlq) = _queues(synth)
    props = ingest["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert props["VisibilityTimeout"] >= 6 * max(w.timeout_seconds for w in INGEST_WORKERS)
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for queue_id, queue in ((ingest_id, ingest), (dlq_id, dlq)):
        assert queue["Properties"]["SqsManagedSseEnabled"] is True or "KmsMasterKeyId" in queue["Properties"]
        assert _denies_insecure_transport(_queue_policy(synth, queue_id))


def _receipt_topic(synth: Synth) -> tuple[str, dict[str, Any]]:
    topic_id = _logical_id(synth, synth.stack.inbound.receipt_topic)
    return topic_id, synth.resources[topic_id]


def test_ses_publishes_each_stored_mail_to_the_ingest_queue(synth: Synth) -> None:
    """The parser takes each mail's envelope and SES's verdicts from SES's receipt notification (review
    M1): the rule's S3 action publishes it to an encrypted topic, which feeds the ingest queue."""
    topic_id, topic = _receipt_topic(synth)
    _, rule = _single(synth, "AWS::SES::ReceiptRule")
    [action] = rule["Properties"]["Rule"]["Actions"]
    assert action["S3Action"]["TopicArn"] == {"Ref": topic_id}
    assert set(rule["DependsOn"]) >= {topic_id, _logical_id(synth, synth.stack.inbound.receipt_key)}
    # Encrypted with a rotated customer key SES may use (for this account only).
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    [ses_on_key] = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "ses.amazonaws.com"}
    ]
    assert set(_actions(ses_on_key)) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert ses_on_key["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # Only SES of this account may publish, only over TLS.
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    [publish] = [s for s in policy if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "ses.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )
    # The topic feeds the ingest queue (SNS envelope kept: the parser unwraps it), and only it may send.
    (ingest_id, _), _ = _queues(synth)
    [subscription] = [
        s["Properties"]
        for s in synth.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    assert subscription["Protocol"] == "sqs"
    assert subscription["Endpoint"] == {"Fn::GetAtt": [ingest_id, "Arn"]}
    assert not subscription.get("RawMessageDelivery", False)
    [send] = [s for s in _queue_policy(synth, ingest_id) if s["Effect"] == "Allow"]
    assert send["Principal"] == {"Service": "sns.amazonaws.com"}
    assert send["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}


def test_raw_mail_reaches_the_queue_only_through_ses(synth: Synth) -> None:
    """An S3 ObjectCreated notification as well would deliver each mail a second time, without its envelope:
    quarantined as unrouted and tagged for short retention (its raw mail then expires)."""
    assert synth.of_type("Custom::S3BucketNotifications") == {}
    _, bucket = _raw_bucket(synth)
    assert "NotificationConfiguration" not in bucket["Properties"]
    assert not [
        k for k in synth.of_type("AWS::Lambda::Function") if k.startswith("BucketNotificationsHandler")
    ]


def test_the_parser_decodes_what_the_topic_delivers() -> None:
    """The queue message is SNS's envelope around SES's notification; the parser finds key and envelope."""
    from dmarcwatch.ingest.messages import decode

    notification = {
        "notificationType": "Received",
        "receipt": {
            "recipients": ["Token@reports.dmarcwatch.test"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "FAIL"},
            "action": {
                "type": "S3",
                "bucketName": "raw",
                "objectKeyPrefix": RAW_PREFIX,
                "objectKey": "inbound/raw/abc",
            },
        },
        "mail": {"messageId": "abc"},
    }
    body = json.dumps(
        {"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": json.dumps(notification)}
    )
    [raw] = decode(body)
    assert raw.key == "inbound/raw/abc"
    assert raw.envelope is not None
    assert (raw.envelope.recipients, raw.envelope.virus, raw.envelope.receiver) == (
        ["token@reports.dmarcwatch.test"],
        "FAIL",
        "ses",
    )


# --- worker functions and grants --------------------------------------------------------------------------


@pytest.mark.parametrize("worker", INGEST_WORKERS, ids=lambda w: w.name)
def test_ingest_worker_function_and_its_event_source(synth: Synth, worker: Any) -> None:
    logical_id, props = _functions_by_name(synth)[worker.name]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == worker.memory_mb
    assert props["Timeout"] == worker.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "ReservedConcurrentExecutions" not in props
    (ingest_id, _), _ = _queues(synth)
    assert worker.trigger is Resource.INGEST_QUEUE
    [mapping] = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": logical_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [ingest_id, "Arn"]}
    assert mapping["BatchSize"] == worker.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_parser_environment_and_queue_rights(synth: Synth) -> None:
    bucket_id, _ = _raw_bucket(synth)
    (ingest_id, _), _ = _queues(synth)
    _, props = _functions_by_name(synth)["parser"]
    env = props["Environment"]["Variables"]
    assert env["DMARCWATCH_RAW_BUCKET"] == {"Ref": bucket_id}
    assert env["DMARCWATCH_INGEST_QUEUE_URL"] == {"Ref": ingest_id}
    statements = _role_statements(synth, props)
    [consume] = [s for s in statements if any(a.startswith("sqs:") for a in _actions(s))]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= set(
        _actions(consume)
    )
    assert "sqs:SendMessage" not in _actions(consume)
    assert consume["Resource"] == {"Fn::GetAtt": [ingest_id, "Arn"]}


def _object_prefixes(bucket_id: str, statement: dict[str, Any]) -> set[str]:
    """The key prefixes (`inbound/*`, ...) a statement names on the bucket's objects."""
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    prefixes = set()
    for resource in resources:
        head, tail = resource["Fn::Join"][1]
        assert head == {"Fn::GetAtt": [bucket_id, "Arn"]}, resource
        assert tail.startswith("/"), resource
        assert tail.endswith("*"), resource
        prefixes.add(tail[1:])
    return prefixes


def test_only_functions_with_the_raw_bucket_get_it(synth: Synth) -> None:
    bucket_id, _ = _raw_bucket(synth)
    (ingest_id, _), _ = _queues(synth)
    ingest_arn = {"Fn::GetAtt": [ingest_id, "Arn"]}
    resources = (
        {g.name: g.resources for g in FUNCTION_GROUPS}
        | {w.name: w.resources for w in WORKER_FUNCTIONS}
        | {j.name: j.resources for j in SCHEDULED_FUNCTIONS}
    )
    resources["authorizer"] = frozenset()
    functions = _functions_by_name(synth)
    assert set(functions) == set(resources)
    with_bucket = set()
    for name, (_, props) in functions.items():
        env = props["Environment"]["Variables"]
        statements = _role_statements(synth, props)
        # S3 rights on the raw bucket (the exports bucket's are asserted in test_tasks.py).
        s3 = [
            s
            for s in statements
            if any(a.startswith("s3:") for a in _actions(s)) and bucket_id in json.dumps(s["Resource"])
        ]
        # SQS rights on the ingest queue (the scan queue's are asserted in test_scanning.py).
        sqs = {
            a for s in statements for a in _actions(s) if a.startswith("sqs:") and s["Resource"] == ingest_arn
        }
        if Resource.RAW_BUCKET in resources[name]:
            with_bucket.add(name)
            assert env["DMARCWATCH_RAW_BUCKET"] == {"Ref": bucket_id}, name
            actions = {a for s in s3 for a in _actions(s)}
            assert (
                {"s3:GetObject", "s3:PutObject"}
                <= actions
                <= {
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:PutObjectTagging",
                    "s3:DeleteObject",
                }
            ), name
            # Object prefixes only (no whole-bucket "/*", no list, delete or bucket settings).
            for statement in s3:
                assert "*" not in _object_prefixes(bucket_id, statement), name
        else:
            assert "DMARCWATCH_RAW_BUCKET" not in env, name
            assert s3 == [], name
        assert ("DMARCWATCH_INGEST_QUEUE_URL" in env) is (Resource.INGEST_QUEUE in resources[name]), name
        assert bool(sqs) is (Resource.INGEST_QUEUE in resources[name]), name
    # The registry today: the reports API group and the parser; meta, account, domains, the scanner and the
    # dispatcher have no S3.
    assert {"reports", "parser"} <= with_bucket
    assert not with_bucket & {"meta", "account", "domains", "scanner", "dispatcher", "authorizer"}


def test_reports_function_reaches_only_its_prefixes(synth: Synth) -> None:
    """L4: the reports API writes uploads (inbound/api/), presigns downloads of raw input and payloads, and
    keeps source ranking snapshots under cache/; the parser does the rest. Nothing else of the bucket."""
    bucket_id, _ = _raw_bucket(synth)
    _, props = _functions_by_name(synth)["reports"]
    by_action: dict[str, set[str]] = {}
    for statement in _role_statements(synth, props):
        for action in _actions(statement):
            if action.startswith("s3:"):
                by_action.setdefault(action, set()).update(_object_prefixes(bucket_id, statement))
    assert by_action == {
        "s3:GetObject": {"inbound/*", "payloads/*", "cache/*"},
        "s3:PutObject": {"inbound/api/*", "cache/*"},
    }


def test_reports_routes_have_methods(synth: Synth) -> None:
    methods = _method_paths(synth)
    reports = [r for r in route_specs() if r.group == "reports"]
    assert {("GET", "/reports"), ("GET", "/reports/{report_id}"), ("GET", "/domains/{domain_id}/stats")} <= {
        (r.method, r.path) for r in reports
    }
    assert ("POST", "/quarantine/{quarantine_id}/reprocess") in {(r.method, r.path) for r in reports}
    alias_id = _logical_id(synth, synth.stack.functions.api_aliases["reports"])
    for route in reports:
        method = methods[(route.method, route.path)]
        assert alias_id in json.dumps(method["Integration"]["Uri"]), route
        assert method["AuthorizationType"] == "CUSTOM", route


# --- alarms and outputs -----------------------------------------------------------------------------------


def test_queue_alarms(synth: Synth) -> None:
    topic_id, _ = _alarm_topic(synth)
    (ingest_id, ingest), (dlq_id, _) = _queues(synth)
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]

    def on_queue(alarm: dict[str, Any], queue_id: str) -> bool:
        return {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}} in alarm.get(
            "Dimensions", []
        )

    [dlq_alarm] = [a for a in alarms if on_queue(a, dlq_id)]
    assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_alarm["Threshold"] == 1
    assert dlq_alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert dlq_alarm["AlarmActions"] == [{"Ref": topic_id}]

    [age_alarm] = [a for a in alarms if on_queue(a, ingest_id)]
    assert age_alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    # Longer than a failed delivery takes to come back (the visibility timeout).
    assert age_alarm["Threshold"] > ingest["Properties"]["VisibilityTimeout"]
    assert age_alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_inbound_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert outputs["InboundMxRecord"]["Value"] == {
        "Fn::Join": ["", ["10 inbound-smtp.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }
    bucket_id, _ = _raw_bucket(synth)
    (ingest_id, _), _ = _queues(synth)
    assert outputs["RawBucketName"]["Value"] == {"Ref": bucket_id}
    assert outputs["IngestQueueUrl"]["Value"] == {"Ref": ingest_id}
    # No hosted zone in the context: no DNS records.
    assert not synth.of_type("AWS::Route53::RecordSet")


# --- hosted zone records and context (the Inbound construct alone) ----------------------------------------


@pytest.fixture(scope="module")
def zone_template() -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.constructs.inbound import HostedZoneRecords, Inbound
    from infra.constructs.ses_receiving import RuleSetChoice, RuleSetMode

    stack = cdk.Stack(cdk.App(), "InboundOnly")
    Inbound(
        stack,
        "Inbound",
        stage="prod",
        reports_domain="reports.dmarcwatch.test",
        workers=WORKER_FUNCTIONS,
        rule_set=RuleSetChoice(RuleSetMode.DEDICATED, activate=False),
        hosted_zone=HostedZoneRecords("Z0123456789ABC", "dmarcwatch.test."),
    )
    result: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return result


def test_hosted_zone_gets_the_mx_and_the_external_destination_record(zone_template: dict[str, Any]) -> None:
    records = {
        r["Properties"]["Type"]: r["Properties"]
        for r in zone_template.values()
        if r["Type"] == "AWS::Route53::RecordSet"
    }
    assert set(records) == {"MX", "TXT"}
    mx, txt = records["MX"], records["TXT"]
    assert mx["HostedZoneId"] == txt["HostedZoneId"] == "Z0123456789ABC"
    assert mx["Name"] == "reports.dmarcwatch.test."
    assert mx["ResourceRecords"] == [
        {"Fn::Join": ["", ["10 inbound-smtp.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    ]
    assert txt["Name"] == "*._report._dmarc.reports.dmarcwatch.test."
    assert txt["ResourceRecords"] == ['"v=DMARC1"']


def test_reports_domain_must_be_in_the_hosted_zone() -> None:
    import aws_cdk as cdk

    from infra.constructs.inbound import HostedZoneRecords, Inbound

    with pytest.raises(ValueError, match="not in the hosted zone"):
        Inbound(
            cdk.Stack(cdk.App(), "Elsewhere"),
            "Inbound",
            stage="prod",
            reports_domain="reports.example.org",
            workers=WORKER_FUNCTIONS,
            hosted_zone=HostedZoneRecords("Z0123456789ABC", "dmarcwatch.test"),
        )


def test_context_values() -> None:
    from infra.stack import context_flag, hosted_zone_from_context

    assert context_flag(None, default=True, name="x") is True
    assert context_flag("false", default=True, name="x") is False
    assert context_flag(False, default=True, name="x") is False
    assert context_flag("TRUE", default=False, name="x") is True
    with pytest.raises(ValueError, match="expected true or false"):
        context_flag("maybe", default=True, name="x")
    assert hosted_zone_from_context(None, None) is None
    zone = hosted_zone_from_context("Z1", "Example.COM.")
    assert zone is not None
    assert (zone.zone_id, zone.zone_name) == ("Z1", "example.com")
    with pytest.raises(ValueError, match="give both or neither"):
        hosted_zone_from_context("Z1", None)


def test_ingest_queue_needs_a_consumer() -> None:
    from infra.constructs.inbound import ingest_visibility_timeout

    assert ingest_visibility_timeout(WORKER_FUNCTIONS).to_seconds() == 6 * max(
        w.timeout_seconds for w in WORKER_FUNCTIONS if w.trigger is Resource.INGEST_QUEUE
    )
    with pytest.raises(ValueError, match="no worker function consumes"):
        ingest_visibility_timeout([])
