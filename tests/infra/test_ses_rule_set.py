"""SES coexistence (issue 14, item 4): the stack never replaces or deactivates an operator's rule set.

- Default (`active`) mode, on the session's synth: the rule joins the set a custom resource finds active;
  the stack has no rule set of its own and activates nothing.
- `dedicated` mode, on the Inbound construct alone (cheap): the stack's own set, activated or not.
- The custom resource's handler over moto: what it does to the region's rule sets in each case.
- The context values that choose the mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.api.registry import WORKER_FUNCTIONS
from tests.infra.test_stack import _actions, _role_statements, _single

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

RAW_PREFIX = "inbound/raw/"


def _raw_bucket_id(resources: dict[str, Any]) -> str:
    [bucket_id] = [
        k for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket" and k.startswith("InboundRawBucket")
    ]
    return bucket_id


def _of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}


def _statements_of_role(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in _of_type(resources, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _assert_reports_rule(rule: dict[str, Any], resources: dict[str, Any], domain: str) -> None:
    props = rule["Properties"]["Rule"]
    assert props["Enabled"] is True
    assert props["ScanEnabled"] is True
    assert props["TlsPolicy"] == "Require"
    assert props["Recipients"] == [domain]
    [action] = props["Actions"]
    s3_action = dict(action["S3Action"])
    # Then SES publishes its receipt notification to the topic feeding the ingest queue (test_inbound.py).
    assert s3_action.pop("TopicArn")["Ref"].startswith("InboundReceiptTopic")
    assert s3_action == {"BucketName": {"Ref": _raw_bucket_id(resources)}, "ObjectKeyPrefix": RAW_PREFIX}


# --- default: the active rule set ---------------------------------------------------------------------------


def test_default_mode_joins_the_active_rule_set(synth: Synth) -> None:
    # No rule set of the stack's own, and nothing that activates one.
    assert synth.of_type("AWS::SES::ReceiptRuleSet") == {}
    assert synth.of_type("Custom::SesActiveReceiptRuleSet") == {}
    lookup_id, lookup = _single(synth, "Custom::SesReceiptRuleSetLookup")
    assert lookup["Properties"]["RuleSetName"] == "dmarcwatch"
    assert lookup["Properties"]["LegacyRuleSetName"] == "dmarcwatch-prod"
    _, rule = _single(synth, "AWS::SES::ReceiptRule")
    # The rule goes into whatever set the lookup resolved, under a stage-specific name (sets are shared).
    assert rule["Properties"]["RuleSetName"] == {"Fn::GetAtt": [lookup_id, "RuleSetName"]}
    assert rule["Properties"]["Rule"]["Name"] == "dmarcwatch-prod"
    assert "After" not in rule["Properties"]
    _assert_reports_rule(rule, synth.resources, synth.context["reportsDomain"])


def test_rule_set_lookup_runs_the_stacks_handler_with_least_privilege(synth: Synth) -> None:
    _, lookup = _single(synth, "Custom::SesReceiptRuleSetLookup")
    framework_id = lookup["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    framework = synth.resources[framework_id]["Properties"]
    handler_id = framework["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"]["Fn::GetAtt"][0]
    handler = synth.resources[handler_id]["Properties"]
    assert handler["Handler"] == "ses_rule_set.on_event"
    assert handler["Runtime"] == "python3.12"
    assert "LogGroup" in handler["LoggingConfig"]

    statements = _role_statements(synth, handler)
    by_action = {a: s["Resource"] for s in statements for a in _actions(s)}
    assert set(by_action) == {
        "ses:DescribeActiveReceiptRuleSet",
        "ses:CreateReceiptRuleSet",
        "ses:SetActiveReceiptRuleSet",
        "ses:DescribeReceiptRuleSet",
        "ses:DeleteReceiptRuleSet",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert by_action["logs:PutLogEvents"] == {
        "Fn::GetAtt": [handler["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]
    }
    # The framework may invoke the handler and write its own log group; no managed policies anywhere.
    framework_actions = {a for s in _role_statements(synth, framework) for a in _actions(s)}
    assert framework_actions <= {
        "lambda:InvokeFunction",
        "lambda:GetFunction",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    for props in (handler, framework):
        role = synth.resources[props["Role"]["Fn::GetAtt"][0]]["Properties"]
        assert "ManagedPolicyArns" not in role


# --- dedicated mode (the Inbound construct alone) -----------------------------------------------------------


def _inbound_template(activate: bool) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.constructs.inbound import Inbound
    from infra.constructs.ses_receiving import RuleSetChoice, RuleSetMode

    stack = cdk.Stack(cdk.App(), "InboundDedicated")
    Inbound(
        stack,
        "Inbound",
        stage="prod",
        reports_domain="reports.dmarcwatch.test",
        workers=WORKER_FUNCTIONS,
        rule_set=RuleSetChoice(RuleSetMode.DEDICATED, activate=activate),
    )
    resources: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"]
    return resources


@pytest.fixture(scope="module")
def dedicated() -> dict[str, Any]:
    return _inbound_template(activate=True)


def test_dedicated_mode_creates_and_activates_its_own_rule_set(dedicated: dict[str, Any]) -> None:
    [(rule_set_id, rule_set)] = _of_type(dedicated, "AWS::SES::ReceiptRuleSet").items()
    assert rule_set["Properties"]["RuleSetName"] == "dmarcwatch-prod"
    [(rule_id, rule)] = _of_type(dedicated, "AWS::SES::ReceiptRule").items()
    assert rule["Properties"]["RuleSetName"] == {"Ref": rule_set_id}
    assert rule["Properties"]["Rule"]["Name"] == "reports"
    _assert_reports_rule(rule, dedicated, "reports.dmarcwatch.test")
    assert _of_type(dedicated, "Custom::SesReceiptRuleSetLookup") == {}

    [activation] = _of_type(dedicated, "Custom::SesActiveReceiptRuleSet").values()
    props = activation["Properties"]
    for phase in ("Create", "Update"):
        text = json.dumps(props[phase])
        assert '\\"action\\":\\"setActiveReceiptRuleSet\\"' in text
        assert json.dumps({"Ref": rule_set_id}) in text
    assert json.loads(props["Delete"]) == {"action": "setActiveReceiptRuleSet", "service": "SES"}
    assert props["InstallLatestAwsSdk"] is False
    assert rule_id in activation["DependsOn"]
    provider_id = props["ServiceToken"]["Fn::GetAtt"][0]
    role_id = dedicated[provider_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = {a for s in _statements_of_role(dedicated, role_id) for a in _actions(s)}
    assert actions == {"ses:SetActiveReceiptRuleSet", "logs:CreateLogStream", "logs:PutLogEvents"}


def test_dedicated_mode_keeps_the_logical_ids_of_earlier_deployments(dedicated: dict[str, Any]) -> None:
    """Stacks deployed before the modes existed keep their rule set and rule (no replacement, which would
    fail on the rule set's fixed name) when they deploy with sesRuleSetMode=dedicated."""
    ids = set(dedicated)
    assert any(
        k.startswith("InboundRuleSet") and dedicated[k]["Type"] == "AWS::SES::ReceiptRuleSet" for k in ids
    )
    assert any(k.startswith("InboundRuleSetReports") for k in ids)
    assert any(k.startswith("InboundActivateRuleSet") for k in ids)


def test_dedicated_mode_without_activation_changes_nothing_active() -> None:
    resources = _inbound_template(activate=False)
    assert len(_of_type(resources, "AWS::SES::ReceiptRuleSet")) == 1
    assert _of_type(resources, "Custom::SesActiveReceiptRuleSet") == {}
    assert _of_type(resources, "Custom::SesReceiptRuleSetLookup") == {}


# --- context ------------------------------------------------------------------------------------------------


def test_context_chooses_the_mode() -> None:
    from infra.constructs.ses_receiving import RuleSetChoice, RuleSetMode
    from infra.stack import rule_set_from_context

    assert rule_set_from_context(None, None) == RuleSetChoice(RuleSetMode.ACTIVE)
    assert rule_set_from_context("active", None).mode is RuleSetMode.ACTIVE
    assert rule_set_from_context("Dedicated", None) == RuleSetChoice(RuleSetMode.DEDICATED, activate=True)
    assert rule_set_from_context("dedicated", "false") == RuleSetChoice(RuleSetMode.DEDICATED, activate=False)
    assert rule_set_from_context("dedicated", False) == RuleSetChoice(RuleSetMode.DEDICATED, activate=False)
    with pytest.raises(ValueError, match="expected active or dedicated"):
        rule_set_from_context("mine", None)
    with pytest.raises(ValueError, match="dedicated only"):
        rule_set_from_context(None, "true")
    # The pre-modes flag is refused with the way forward, never silently reinterpreted.
    with pytest.raises(ValueError, match="sesRuleSetMode=dedicated"):
        rule_set_from_context(None, None, "false")


# --- the handler over moto ----------------------------------------------------------------------------------


@pytest.fixture
def ses() -> Iterator[Any]:
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    with mock_aws():
        # Inside the session's moto (another test of this process started it) state would carry over
        # from test to test: every test starts from an account with no rule sets.
        for backend in ses_backends[DEFAULT_ACCOUNT_ID].values():
            backend.reset()
        yield boto3.client("ses", region_name="eu-west-1")


def _event(request_type: str, physical_id: str | None = None, **properties: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResourceProperties": {
            "RuleSetName": "dmarcwatch",
            "LegacyRuleSetName": "dmarcwatch-prod",
            **properties,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def _active(ses: Any) -> str | None:
    metadata = ses.describe_active_receipt_rule_set().get("Metadata") or {}
    return metadata.get("Name")


def _sets(ses: Any) -> set[str]:
    return {s["Name"] for s in ses.list_receipt_rule_sets().get("RuleSets", [])}


def _add_rule(ses: Any, rule_set: str, name: str) -> None:
    ses.create_receipt_rule(
        RuleSetName=rule_set, Rule={"Name": name, "Enabled": True, "Recipients": ["x.test"]}
    )


def test_an_operators_active_rule_set_is_joined_and_never_touched(ses: Any) -> None:
    from infra.handlers.ses_rule_set.ses_rule_set import on_event

    ses.create_receipt_rule_set(RuleSetName="corporate")
    _add_rule(ses, "corporate", "helpdesk")
    ses.set_active_receipt_rule_set(RuleSetName="corporate")

    created = on_event(_event("Create"), ses=ses)
    assert created == {"PhysicalResourceId": "found:corporate", "Data": {"RuleSetName": "corporate"}}
    assert (_active(ses), _sets(ses)) == ("corporate", {"corporate"})

    updated = on_event(_event("Update", "found:corporate"), ses=ses)
    assert updated["PhysicalResourceId"] == "found:corporate"

    # Even once the stack's rule is gone (empty or not), the operator's set stays, and stays active.
    on_event(_event("Delete", "found:corporate"), ses=ses)
    assert (_active(ses), _sets(ses)) == ("corporate", {"corporate"})


def test_with_no_active_rule_set_one_is_created_activated_and_cleaned_up(ses: Any) -> None:
    from infra.handlers.ses_rule_set.ses_rule_set import on_event

    ses.create_receipt_rule_set(RuleSetName="old-inactive")
    created = on_event(_event("Create"), ses=ses)
    assert created == {"PhysicalResourceId": "created:dmarcwatch", "Data": {"RuleSetName": "dmarcwatch"}}
    assert _active(ses) == "dmarcwatch"
    # An update while it is still active keeps the resource as it was (no replacement).
    assert (
        on_event(_event("Update", "created:dmarcwatch"), ses=ses)["PhysicalResourceId"]
        == "created:dmarcwatch"
    )

    # The stack's rule is deleted first; the set is empty then: deactivated and deleted, others untouched.
    on_event(_event("Delete", "created:dmarcwatch"), ses=ses)
    assert (_active(ses), _sets(ses)) == (None, {"old-inactive"})
    # A second delete (CloudFormation retries) finds nothing and succeeds.
    on_event(_event("Delete", "created:dmarcwatch"), ses=ses)


def test_a_created_set_someone_else_uses_stays(ses: Any) -> None:
    from infra.handlers.ses_rule_set.ses_rule_set import on_event

    on_event(_event("Create"), ses=ses)
    # Another stage (or the operator) added a rule to it: the set stays, active, when this stack goes.
    _add_rule(ses, "dmarcwatch", "dmarcwatch-dev")
    on_event(_event("Delete", "created:dmarcwatch"), ses=ses)
    assert (_active(ses), _sets(ses)) == ("dmarcwatch", {"dmarcwatch"})


def test_a_created_set_the_operator_no_longer_has_active_is_not_deactivated_by_mistake(ses: Any) -> None:
    from infra.handlers.ses_rule_set.ses_rule_set import on_event

    on_event(_event("Create"), ses=ses)
    ses.create_receipt_rule_set(RuleSetName="corporate")
    ses.set_active_receipt_rule_set(RuleSetName="corporate")
    # The operator switched the active set: an update follows it (the rule moves with the new name) ...
    assert (
        on_event(_event("Update", "created:dmarcwatch"), ses=ses)["PhysicalResourceId"] == "found:corporate"
    )
    # ... and deleting the old resource removes the empty set it created, leaving the operator's active.
    on_event(_event("Delete", "created:dmarcwatch"), ses=ses)
    assert (_active(ses), _sets(ses)) == ("corporate", {"corporate"})


def test_an_inactive_set_of_the_same_name_is_activated_but_never_deleted(ses: Any) -> None:
    from infra.handlers.ses_rule_set.ses_rule_set import on_event

    ses.create_receipt_rule_set(RuleSetName="dmarcwatch")
    created = on_event(_event("Create"), ses=ses)
    assert created["PhysicalResourceId"] == "found:dmarcwatch"
    assert _active(ses) == "dmarcwatch"
    on_event(_event("Delete", "found:dmarcwatch"), ses=ses)
    assert (_active(ses), _sets(ses)) == ("dmarcwatch", {"dmarcwatch"})


def test_the_stacks_own_set_from_before_the_modes_is_refused(ses: Any) -> None:
    """Joining it would be undone by the same update (its old activation deactivates it on removal)."""
    from infra.handlers.ses_rule_set.ses_rule_set import LegacyRuleSetActive, on_event

    ses.create_receipt_rule_set(RuleSetName="dmarcwatch-prod")
    ses.set_active_receipt_rule_set(RuleSetName="dmarcwatch-prod")
    with pytest.raises(LegacyRuleSetActive, match="sesRuleSetMode=dedicated"):
        on_event(_event("Create"), ses=ses)
    assert (_active(ses), _sets(ses)) == ("dmarcwatch-prod", {"dmarcwatch-prod"})
    # A failed create's delete (rollback) carries a physical id that is not ours: nothing happens.
    on_event(_event("Delete", "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"), ses=ses)
    assert _sets(ses) == {"dmarcwatch-prod"}
