"""Scanning on the synthesized stack: the scan queue and its DLQ, the scanner (a worker with reserved
concurrency), who may send scan requests, the scheduled functions and their EventBridge rules, the table's
indexes, alarms and the output (the session's one synth, see conftest.py).

Expected values come from the registry (WORKER_FUNCTIONS, SCHEDULED_FUNCTIONS, FUNCTION_GROUPS), TABLE and
route_specs(); the registry's current entries (the domains group and the dispatcher send, the scanner
consumes) are asserted by name as well, so a registry change that drops them is noticed.
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
    ScheduledFunction,
    WorkerFunction,
    route_specs,
)
from dmarcwatch.config import ENV_PREFIX, Settings
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.table import TABLE
from infra.constructs.access import API_TABLE_ACCESS, SCHEDULED_TABLE_ACCESS, WORKER_TABLE_ACCESS
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

SCAN_WORKERS = [w for w in WORKER_FUNCTIONS if w.trigger is Resource.SCAN_QUEUE]
RESOURCES_BY_FUNCTION: dict[str, frozenset[Resource]] = (
    {g.name: g.resources for g in FUNCTION_GROUPS}
    | {w.name: w.resources for w in WORKER_FUNCTIONS}
    | {j.name: j.resources for j in SCHEDULED_FUNCTIONS}
    | {"authorizer": frozenset()}
)
TRIGGER_BY_FUNCTION = {w.name: w.trigger for w in WORKER_FUNCTIONS}
CONSUME_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}


# --- helpers ------------------------------------------------------------------------------------------


def _scan_queues(synth: Synth) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """(scan queue, its dead-letter queue)."""
    scanning = synth.stack.scanning
    queue_id = _logical_id(synth, scanning.scan_queue)
    dlq_id = _logical_id(synth, scanning.dead_letter_queue)
    return (queue_id, synth.resources[queue_id]), (dlq_id, synth.resources[dlq_id])


def _schedule_dlq(synth: Synth) -> tuple[str, dict[str, Any]]:
    queue = synth.stack.functions.schedule_dead_letter_queue
    assert queue is not None
    logical_id = _logical_id(synth, queue)
    return logical_id, synth.resources[logical_id]


def _queue_policy(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    [statements] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    return statements


def _is_encrypted_and_tls_only(synth: Synth, queue_id: str) -> bool:
    props = synth.resources[queue_id]["Properties"]
    encrypted = props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
    tls_only = any(
        s["Effect"] == "Deny"
        and s["Action"] == "sqs:*"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in _queue_policy(synth, queue_id)
    )
    return encrypted and tls_only


def _sqs_actions_on(synth: Synth, function_props: dict[str, Any], queue_id: str) -> set[str]:
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    return {
        action
        for statement in _role_statements(synth, function_props)
        if statement["Resource"] == arn
        for action in _actions(statement)
        if action.startswith("sqs:")
    }


def _alarms_on_queue(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    dimension = {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
    return [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if dimension in a["Properties"].get("Dimensions", [])
    ]


def _rule_targeting(synth: Synth, function_id: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(rule logical id, rule properties, its target) of the one EventBridge rule invoking the function."""
    found = [
        (rule_id, rule["Properties"], target)
        for rule_id, rule in synth.of_type("AWS::Events::Rule").items()
        for target in rule["Properties"].get("Targets", [])
        if target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert len(found) == 1, found
    return found[0]


# --- registry -----------------------------------------------------------------------------------------


def test_the_registry_has_a_scanner_and_a_dispatcher() -> None:
    """What the rest of this module relies on: today's scanning entries of the registry."""
    assert [w.name for w in SCAN_WORKERS] == ["scanner"]
    assert "dispatcher" in [j.name for j in SCHEDULED_FUNCTIONS]
    assert Resource.SCAN_QUEUE in next(g for g in FUNCTION_GROUPS if g.name == "domains").resources


def test_queue_url_settings_are_read_by_settings() -> None:
    from infra.constructs.functions import queue_url_setting

    assert queue_url_setting(Resource.SCAN_QUEUE) == "DMARCWATCH_SCAN_QUEUE_URL"
    assert queue_url_setting(Resource.INGEST_QUEUE) == "DMARCWATCH_INGEST_QUEUE_URL"
    for resource in (Resource.SCAN_QUEUE, Resource.INGEST_QUEUE):
        field = queue_url_setting(resource).removeprefix(ENV_PREFIX).lower()
        assert field in Settings.model_fields, field


# --- scan queue and DLQ -------------------------------------------------------------------------------------


def test_scan_queue_and_dead_letter_queue(synth: Synth) -> None:
    (queue_id, queue), (dlq_id, dlq) = _scan_queues(synth)
    props = queue["Properties"]
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,
    }
    assert props["VisibilityTimeout"] >= 6 * max(w.timeout_seconds for w in SCAN_WORKERS)
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in dlq["Properties"]
    for logical_id in (queue_id, dlq_id):
        assert _is_encrypted_and_tls_only(synth, logical_id), logical_id
    # Only IAM grants (senders and the consumer below): no resource policy opens the queue to anyone.
    assert [s["Effect"] for s in _queue_policy(synth, queue_id)] == ["Deny"]


def test_scan_visibility_timeout_needs_a_consumer() -> None:
    from infra.constructs.scanning import scan_visibility_timeout

    assert scan_visibility_timeout(WORKER_FUNCTIONS).to_seconds() == 6 * max(
        w.timeout_seconds for w in SCAN_WORKERS
    )
    with pytest.raises(ValueError, match="no worker function consumes the scan queue"):
        scan_visibility_timeout([w for w in WORKER_FUNCTIONS if w.trigger is not Resource.SCAN_QUEUE])


# --- scanner ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("worker", SCAN_WORKERS, ids=lambda w: w.name)
def test_scanner_function_with_reserved_concurrency(synth: Synth, worker: WorkerFunction) -> None:
    from infra.constructs.functions import SCAN_QUEUE_CONSUMER_CONCURRENCY

    logical_id, props = _functions_by_name(synth)[worker.name]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == worker.memory_mb
    assert props["Timeout"] == worker.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["ReservedConcurrentExecutions"] == SCAN_QUEUE_CONSUMER_CONCURRENCY
    assert 2 <= SCAN_QUEUE_CONSUMER_CONCURRENCY <= 50  # bounded, and within what the ESM accepts (>= 2)
    (queue_id, _), _ = _scan_queues(synth)
    assert props["Environment"]["Variables"]["DMARCWATCH_SCAN_QUEUE_URL"] == {"Ref": queue_id}

    [mapping] = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": logical_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == worker.batch_size
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # The poller never runs more batches than the reservation allows (no throttled, re-received batches).
    assert mapping["ScalingConfig"]["MaximumConcurrency"] <= props["ReservedConcurrentExecutions"]


@pytest.mark.parametrize("worker", SCAN_WORKERS, ids=lambda w: w.name)
def test_scanner_consumes_and_cannot_send(synth: Synth, worker: WorkerFunction) -> None:
    _, props = _functions_by_name(synth)[worker.name]
    (queue_id, _), _ = _scan_queues(synth)
    assert _sqs_actions_on(synth, props, queue_id) >= CONSUME_ACTIONS
    all_sqs = {a for s in _role_statements(synth, props) for a in _actions(s) if a.startswith("sqs:")}
    assert "sqs:SendMessage" not in all_sqs
    assert not any(a.startswith("s3:") for s in _role_statements(synth, props) for a in _actions(s))


def test_the_ingest_worker_keeps_unreserved_concurrency(synth: Synth) -> None:
    _, props = _functions_by_name(synth)["parser"]
    assert "ReservedConcurrentExecutions" not in props


# --- who may send scan requests -----------------------------------------------------------------------------


def test_scan_queue_rights_and_setting_follow_the_registry(synth: Synth) -> None:
    """A function naming SCAN_QUEUE gets its URL; the worker it triggers consumes, every other one sends;
    the rest get neither the setting nor any right on the queue."""
    (queue_id, _), _ = _scan_queues(synth)
    functions = _functions_by_name(synth)
    assert set(functions) == set(RESOURCES_BY_FUNCTION)
    senders, consumers = set(), set()
    for name, (_, props) in functions.items():
        env = props["Environment"]["Variables"]
        actions = _sqs_actions_on(synth, props, queue_id)
        if Resource.SCAN_QUEUE not in RESOURCES_BY_FUNCTION[name]:
            assert "DMARCWATCH_SCAN_QUEUE_URL" not in env, name
            assert actions == set(), name
            continue
        assert env["DMARCWATCH_SCAN_QUEUE_URL"] == {"Ref": queue_id}, name
        if TRIGGER_BY_FUNCTION.get(name) is Resource.SCAN_QUEUE:
            consumers.add(name)
            assert actions >= CONSUME_ACTIONS, name
            assert "sqs:SendMessage" not in actions, name
        else:
            senders.add(name)
            # SendMessage also authorizes SendMessageBatch (IAM has no separate action for it).
            assert "sqs:SendMessage" in actions, name
            assert not actions & CONSUME_ACTIONS, name
    assert {"domains", "dispatcher"} <= senders
    assert consumers == {"scanner"}


def test_domains_api_role_can_send_scan_requests(synth: Synth) -> None:
    (queue_id, _), _ = _scan_queues(synth)
    _, props = _functions_by_name(synth)["domains"]
    assert props["Environment"]["Variables"]["DMARCWATCH_SCAN_QUEUE_URL"] == {"Ref": queue_id}
    [statement] = [
        s
        for s in _role_statements(synth, props)
        if "sqs:SendMessage" in _actions(s) and s["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert statement["Effect"] == "Allow"


def test_domains_routes_reach_the_domains_function(synth: Synth) -> None:
    methods = _method_paths(synth)
    routes = {(r.method, r.path) for r in route_specs() if r.group == "domains"}
    expected = {
        ("POST", "/domains/{domain_id}/scan"),
        ("POST", "/domains/{domain_id}/refresh_dns"),
        ("POST", "/domains/{domain_id}/verify"),
        ("GET", "/domains/{domain_id}/scan-results"),
        ("GET", "/domains/{domain_id}/dns-records"),
        ("GET", "/domains/{domain_id}/changes"),
    }
    assert expected <= routes
    alias_id = _logical_id(synth, synth.stack.functions.api_aliases["domains"])
    for route in routes:
        method = methods[route]
        assert alias_id in json.dumps(method["Integration"]["Uri"]), route
        assert method["AuthorizationType"] == "CUSTOM", route


# --- scheduled functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("job", SCHEDULED_FUNCTIONS, ids=lambda j: j.name)
def test_scheduled_function_and_its_rule(synth: Synth, job: ScheduledFunction) -> None:
    function_id, props = _functions_by_name(synth)[job.name]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == "handler.handler"
    assert len(props["Layers"]) == 2
    assert "LogGroup" in props["LoggingConfig"]
    assert props["MemorySize"] == job.memory_mb
    assert props["Timeout"] == job.timeout_seconds
    assert "DMARCWATCH_CURSOR_SECRET_ARN" not in props["Environment"]["Variables"]

    rule_id, rule, target = _rule_targeting(synth, function_id)
    # CDK renders whole hours as hours: rate(15 minutes), rate(1 hour), rate(2 hours).
    amount, unit = (
        (job.rate_minutes // 60, "hour") if job.rate_minutes % 60 == 0 else (job.rate_minutes, "minute")
    )
    assert rule["ScheduleExpression"] == f"rate({amount} {unit}{'' if amount == 1 else 's'})"
    assert rule["State"] == "ENABLED"
    period = job.rate_minutes * 60
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == period
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    dlq_id, _ = _schedule_dlq(synth)
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}

    # EventBridge may invoke it, from this rule only.
    [permission] = [
        p["Properties"]
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
        and p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permission["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    # Lambda does not retry a failed run (the next scheduled run does), nor run a stale event.
    [invoke_config] = [
        c["Properties"]
        for c in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke_config["MaximumRetryAttempts"] == 0
    assert invoke_config["MaximumEventAgeInSeconds"] == period


def test_dispatcher_runs_every_15_minutes(synth: Synth) -> None:
    function_id, _ = _functions_by_name(synth)["dispatcher"]
    _, rule, _ = _rule_targeting(synth, function_id)
    assert rule["ScheduleExpression"] == "rate(15 minutes)"


def test_schedule_dead_letter_queue(synth: Synth) -> None:
    dlq_id, dlq = _schedule_dlq(synth)
    assert _is_encrypted_and_tls_only(synth, dlq_id)
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # EventBridge may send to it only on behalf of the schedules' rules.
    rule_arns = [{"Fn::GetAtt": [rule_id, "Arn"]} for rule_id in synth.of_type("AWS::Events::Rule")]
    allows = [s for s in _queue_policy(synth, dlq_id) if s["Effect"] == "Allow"]
    assert len(allows) == len(SCHEDULED_FUNCTIONS)
    for statement in allows:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] in rule_arns


def test_dispatcher_may_query_the_due_index(synth: Synth) -> None:
    table_id, _ = _single(synth, "AWS::DynamoDB::Table")
    _, props = _functions_by_name(synth)["dispatcher"]
    index_arn = {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, "/index/gsi2"]]}
    [statement] = [s for s in _role_statements(synth, props) if s["Resource"] == index_arn]
    assert _actions(statement) == ["dynamodb:Query"]
    dynamodb = {a for s in _role_statements(synth, props) for a in _actions(s) if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem"}


# --- table indexes ------------------------------------------------------------------------------------------


def test_table_has_both_indexes_and_grants_name_each(synth: Synth) -> None:
    table_id, table = _single(synth, "AWS::DynamoDB::Table")
    names = [index["IndexName"] for index in table["Properties"]["GlobalSecondaryIndexes"]]
    assert names == [index.name for index in TABLE.indexes]
    assert {"gsi1", "gsi2"} <= set(names)
    attributes = {a["AttributeName"] for a in table["Properties"]["AttributeDefinitions"]}
    assert {"gsi2pk", "gsi2sk"} <= attributes

    # Index grants name each index (no index/* wildcard), Query only; the table ARN is granted alone.
    index_arns = {
        name: {"Fn::Join": ["", [{"Fn::GetAtt": [table_id, "Arn"]}, f"/index/{name}"]]} for name in names
    }
    table_arn = {"Fn::GetAtt": [table_id, "Arn"]}
    queried: dict[str, set[str]] = {}
    for name, (_, props) in _functions_by_name(synth).items():
        for statement in _role_statements(synth, props):
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            on_indexes = [index for index, arn in index_arns.items() if arn in resources]
            if on_indexes:
                assert resources == [index_arns[index] for index in on_indexes], name
                assert _actions(statement) == ["dynamodb:Query"], name
                queried.setdefault(name, set()).update(on_indexes)
            if table_arn in resources:
                assert resources == [table_arn], name
    # Exactly the indexes each function's access entry names: gsi2 (the rescan schedule) for the
    # dispatcher; gsi1 (listings, tenants of a domain name) for the reports API and the parser; ...
    declared = {
        name: set(access.indexes)
        for name, access in {**API_TABLE_ACCESS, **WORKER_TABLE_ACCESS, **SCHEDULED_TABLE_ACCESS}.items()
        if access.indexes
    }
    assert queried == declared
    assert {"dispatcher": {"gsi2"}, "reports": {"gsi1"}, "parser": {"gsi1"}}.items() <= queried.items()


# --- alarms and output --------------------------------------------------------------------------------------


def test_scan_queue_alarms(synth: Synth) -> None:
    topic_id, _ = _alarm_topic(synth)
    (queue_id, queue), (dlq_id, _) = _scan_queues(synth)

    [dlq_alarm] = _alarms_on_queue(synth, dlq_id)
    assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_alarm["Threshold"] == 1
    assert dlq_alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert dlq_alarm["AlarmActions"] == [{"Ref": topic_id}]

    [age_alarm] = _alarms_on_queue(synth, queue_id)
    assert age_alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    # Past a failed delivery's return and at the dispatcher's lease (after which it queues domains again).
    assert age_alarm["Threshold"] > queue["Properties"]["VisibilityTimeout"]
    assert age_alarm["Threshold"] >= QUEUED_LEASE.total_seconds()
    assert age_alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_schedule_dead_letter_queue_alarm(synth: Synth) -> None:
    topic_id, _ = _alarm_topic(synth)
    dlq_id, _ = _schedule_dlq(synth)
    [alarm] = _alarms_on_queue(synth, dlq_id)
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 1
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


@pytest.mark.parametrize("name", [*(w.name for w in SCAN_WORKERS), *(j.name for j in SCHEDULED_FUNCTIONS)])
def test_errors_and_throttles_alarms(synth: Synth, name: str) -> None:
    function_id, _ = _functions_by_name(synth)[name]
    metrics = {
        a["Properties"]["MetricName"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if {"Name": "FunctionName", "Value": {"Ref": function_id}} in a["Properties"].get("Dimensions", [])
    }
    assert metrics == {"Errors", "Throttles"}


def test_scan_queue_output(synth: Synth) -> None:
    (queue_id, _), _ = _scan_queues(synth)
    outputs = synth.template.to_json()["Outputs"]
    assert outputs["ScanQueueUrl"]["Value"] == {"Ref": queue_id}


# --- cdk-nag ------------------------------------------------------------------------------------------------


def test_no_unacknowledged_cdk_nag_findings(synth: Synth) -> None:
    from cdk_nag import AwsSolutionsChecks

    report = AwsSolutionsChecks(verbose=True).validate_scope(synth.app)
    findings = [
        f"{v.rule_name} at {[r.construct_path for r in v.violating_resources]}" for v in report.violations
    ]
    assert findings == []


def test_sqs3_is_acknowledged_on_the_schedule_dlq_alone(synth: Synth) -> None:
    """The one acknowledgment scanning adds covers that queue, not its parent or any other queue."""
    acknowledged_at = [
        construct.node.path
        for construct in synth.stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules" and "Annotation::AwsSolutions-SQS3" in entry.data
    ]
    queue = synth.stack.functions.schedule_dead_letter_queue
    assert queue is not None
    assert acknowledged_at == [queue.node.path]
