"""The WHOIS worker and scheduler on the synthesized stack: reservation, trigger, grants, schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.api.registry import Resource
from infra.constructs.functions import WHOIS_QUEUE_CONSUMER_CONCURRENCY, reserved_concurrency
from tests.infra.test_stack import _actions, _functions_by_name, _logical_id, _role_statements

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]


def _statements_on(synth: Synth, function: str, logical_id: str) -> list[str]:
    """The actions the function's role allows on the resource (by its logical id)."""
    _, props = _functions_by_name(synth)[function]
    actions: list[str] = []
    for statement in _role_statements(synth, props):
        if logical_id in repr(statement["Resource"]):
            actions += _actions(statement)
    return actions


def test_the_whois_worker_is_reserved_small_and_triggered_by_the_whois_queue(synth: Synth) -> None:
    assert reserved_concurrency(Resource.WHOIS_QUEUE) == WHOIS_QUEUE_CONSUMER_CONCURRENCY == 2
    function_id, props = _functions_by_name(synth)["whois"]
    assert props["ReservedConcurrentExecutions"] == 2
    queue_id = _logical_id(synth, synth.stack.tasks.whois_queue)
    [mapping] = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_whois_worker_consumes_and_requeues_and_keeps_the_bootstrap(synth: Synth) -> None:
    queue_id = _logical_id(synth, synth.stack.tasks.whois_queue)
    actions = _statements_on(synth, "whois", queue_id)
    assert "sqs:ReceiveMessage" in actions
    assert "sqs:SendMessage" in actions  # a rate-limited lookup comes back delayed
    _, props = _functions_by_name(synth)["whois"]
    objects: dict[str, set[str]] = {}
    for statement in _role_statements(synth, props):
        for action in _actions(statement):
            if action.startswith("s3:"):
                objects.setdefault(action, set()).add(repr(statement["Resource"]))
    assert set(objects) == {"s3:GetObject", "s3:PutObject"}
    assert all("/rdap/*" in resource for found in objects.values() for resource in found)
    environment: dict[str, Any] = props["Environment"]["Variables"]
    assert "DMARCWATCH_WHOIS_QUEUE_URL" in environment
    assert "DMARCWATCH_RAW_BUCKET" in environment


def test_the_api_and_the_scheduler_may_send_lookups_only(synth: Synth) -> None:
    queue_id = _logical_id(synth, synth.stack.tasks.whois_queue)
    for function in ("domains", "whois_scheduler"):
        actions = _statements_on(synth, function, queue_id)
        assert "sqs:SendMessage" in actions
        assert "sqs:ReceiveMessage" not in actions


def test_the_whois_scheduler_runs_every_15_minutes(synth: Synth) -> None:
    function_id, _ = _functions_by_name(synth)["whois_scheduler"]
    rules = [
        rule["Properties"]
        for rule in synth.of_type("AWS::Events::Rule").values()
        if any(
            target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in rule["Properties"]["Targets"]
        )
    ]
    assert [rule["ScheduleExpression"] for rule in rules] == ["rate(15 minutes)"]
