"""SES receiving for the reports domain: which receipt rule set the stack's rule goes into.

Only one receipt rule set can be active per account and region, and an account that already receives mail
there has its own. Two modes (context `sesRuleSetMode`):

- `active` (default): the rule joins the region's **active** rule set, whoever owns it. A custom resource
  (infra/handlers/ses_rule_set/) looks it up at deploy time; only when no set is active does it create
  `dmarcwatch` and activate it (receiving was off in the region, so nothing else changes). It never
  deactivates or replaces an operator's set, and on delete it removes only a set it created that no rule
  uses any more. The rule is named `dmarcwatch-<stage>`, so several stages can share one set.
- `dedicated`: the stack's own rule set `dmarcwatch-<stage>` with the rule `reports`. With
  `sesActivateRuleSet=true` (the default) a custom resource makes it the active set, **replacing whatever
  set was active**, and deactivates receiving when it is deleted; with `false` it stays inactive until the
  operator activates it.

The constructs are created directly in the Inbound construct (no level of their own): the dedicated mode
keeps the construct paths, hence the logical ids, that stacks deployed before the modes existed have.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra import REPO_ROOT
from infra.constructs.access import RAW_MAIL_PREFIX
from infra.constructs.functions import ARCHITECTURE, ASSET_EXCLUDES, LOG_RETENTION, RUNTIME
from infra.constructs.nag import acknowledge

# Created (and activated) in active mode only when the region has no active rule set.
SHARED_RULE_SET_NAME = "dmarcwatch"
HANDLER_DIR = REPO_ROOT / "infra" / "handlers" / "ses_rule_set"
HANDLER = "ses_rule_set.on_event"
# What the lookup handler may do: find the active set, and create/activate one only when none is active;
# on delete, look at the set it created and remove it when empty.
LOOKUP_ACTIONS = [
    "ses:DescribeActiveReceiptRuleSet",
    "ses:CreateReceiptRuleSet",
    "ses:SetActiveReceiptRuleSet",
    "ses:DescribeReceiptRuleSet",
    "ses:DeleteReceiptRuleSet",
]
SES_STAR_REASON = (
    "SES receipt rule set actions have no resource-level permissions (receipt rule sets have no ARN; the "
    "active set is a per-region account setting), so the only possible resource is '*'; the role may call "
    "nothing else besides writing its own log group."
)


class RuleSetMode(StrEnum):
    ACTIVE = "active"
    DEDICATED = "dedicated"


@dataclass(frozen=True)
class RuleSetChoice:
    mode: RuleSetMode = RuleSetMode.ACTIVE
    # Dedicated mode only: make the stack's rule set the region's active one.
    activate: bool = True


def dedicated_rule_set_name(stage: str) -> str:
    return f"dmarcwatch-{stage}"


def shared_rule_name(stage: str) -> str:
    """The rule's name in a rule set other stacks or the operator also use."""
    return f"dmarcwatch-{stage}"


@dataclass
class Receiving:
    rule: ses.ReceiptRule
    # The name of the set the rule is in (a token resolved at deploy time in active mode).
    rule_set_name: str
    # Dedicated mode: the stack's rule set, and its activation unless turned off.
    rule_set: ses.ReceiptRuleSet | None = None
    activation: cr.AwsCustomResource | None = None
    # Active mode: the lookup custom resource.
    lookup: CustomResource | None = None


def _rule_options(reports_domain: str, bucket: s3.IBucket, topic: sns.ITopic) -> dict[str, Any]:
    # aws_ses_actions.S3 adds the bucket policy statement (ses.amazonaws.com s3:PutObject on inbound/raw/*,
    # condition aws:SourceAccount = this account) and makes the rule depend on it. Once the mail is stored,
    # SES publishes its receipt notification (recipients, verdicts, object key) to `topic`.
    return {
        "recipients": [reports_domain],
        "scan_enabled": True,
        "tls_policy": ses.TlsPolicy.REQUIRE,
        "enabled": True,
        "actions": [ses_actions.S3(bucket=bucket, object_key_prefix=RAW_MAIL_PREFIX, topic=topic)],
    }


def add_receiving(
    scope: Construct,
    *,
    stage: str,
    reports_domain: str,
    bucket: s3.IBucket,
    topic: sns.ITopic,
    choice: RuleSetChoice,
) -> Receiving:
    options = _rule_options(reports_domain, bucket, topic)
    if choice.mode is RuleSetMode.DEDICATED:
        return _dedicated(scope, stage, options, activate=choice.activate)
    return _in_active_rule_set(scope, stage, options)


# --- dedicated mode -------------------------------------------------------------------------------------


def _dedicated(scope: Construct, stage: str, options: dict[str, Any], *, activate: bool) -> Receiving:
    rule_set = ses.ReceiptRuleSet(scope, "RuleSet", receipt_rule_set_name=dedicated_rule_set_name(stage))
    rule = rule_set.add_rule("Reports", receipt_rule_name="reports", **options)
    receiving = Receiving(rule=rule, rule_set_name=rule_set.receipt_rule_set_name, rule_set=rule_set)
    if activate:
        receiving.activation = _activation(scope, rule_set, rule)
    return receiving


def _activation(
    scope: Construct, rule_set: ses.ReceiptRuleSet, rule: ses.ReceiptRule
) -> cr.AwsCustomResource:
    """Make the rule set the region's active one; deleting this resource deactivates receiving."""
    log_group = logs.LogGroup(
        scope, "ActivationLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
    )
    role = _role(scope, "ActivationRole", "dmarcwatch: activates the SES receipt rule set", log_group)
    rule_set_name = rule_set.receipt_rule_set_name
    activate = cr.AwsSdkCall(
        service="SES",
        action="setActiveReceiptRuleSet",
        parameters={"RuleSetName": rule_set_name},
        physical_resource_id=cr.PhysicalResourceId.of(rule_set_name),
    )
    activation = cr.AwsCustomResource(
        scope,
        "ActivateRuleSet",
        resource_type="Custom::SesActiveReceiptRuleSet",
        on_create=activate,
        on_update=activate,
        # No RuleSetName: no rule set is active (SES receiving off), so the rule set can be deleted.
        on_delete=cr.AwsSdkCall(service="SES", action="setActiveReceiptRuleSet"),
        policy=cr.AwsCustomResourcePolicy.from_statements(
            [iam.PolicyStatement(actions=["ses:SetActiveReceiptRuleSet"], resources=["*"])]
        ),
        role=role,
        log_group=log_group,
        install_latest_aws_sdk=False,
        timeout=Duration.minutes(1),
    )
    # Activate once the rule (and through it the bucket policy) exists; on delete, deactivate first.
    activation.node.add_dependency(rule)
    acknowledge(activation, "AwsSolutions-IAM5[Resource::*]", SES_STAR_REASON)
    return activation


# --- active mode ----------------------------------------------------------------------------------------


def _in_active_rule_set(scope: Construct, stage: str, options: dict[str, Any]) -> Receiving:
    handler_logs = logs.LogGroup(
        scope, "RuleSetLookupLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
    )
    handler_role = _role(
        scope,
        "RuleSetLookupRole",
        "dmarcwatch: finds the active SES receipt rule set (creates one only if none is active)",
        handler_logs,
    )
    handler_role.add_to_policy(iam.PolicyStatement(actions=LOOKUP_ACTIONS, resources=["*"]))
    acknowledge(handler_role, "AwsSolutions-IAM5[Resource::*]", SES_STAR_REASON)
    handler = lambda_.Function(
        scope,
        "RuleSetLookup",
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=HANDLER,
        code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=ASSET_EXCLUDES),
        description="dmarcwatch: the SES receipt rule set the reports rule joins (custom resource)",
        timeout=Duration.minutes(1),
        memory_size=128,
        role=handler_role,
        log_group=handler_logs,
    )
    acknowledge(
        handler,
        "AwsSolutions-L1",
        "The custom resource handler runs on the same pinned Python 3.12 runtime as every function of the "
        "stack (infra/constructs/functions.py RUNTIME); it uses only the runtime's boto3.",
    )

    framework_logs = logs.LogGroup(
        scope, "RuleSetLookupProviderLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
    )
    framework_role = _role(
        scope,
        "RuleSetLookupProviderRole",
        "dmarcwatch: CDK provider framework of the SES rule set lookup",
        framework_logs,
    )
    provider = cr.Provider(
        scope,
        "RuleSetLookupProvider",
        on_event_handler=handler,
        framework_on_event_role=framework_role,
        log_group=framework_logs,
    )
    acknowledge(
        framework_role,
        f"AwsSolutions-IAM5[Resource::<{_logical_id(handler)}.Arn>:*]",
        "CDK's provider framework may invoke the lookup handler in any of its versions (the function's ARN "
        "with ':*'); it is this one function, nothing else.",
    )
    lookup = CustomResource(
        scope,
        "RuleSetLookupResource",
        service_token=provider.service_token,
        resource_type="Custom::SesReceiptRuleSetLookup",
        # The dedicated set of this stage from before the modes: refused (see the handler's docstring).
        properties={"RuleSetName": SHARED_RULE_SET_NAME, "LegacyRuleSetName": dedicated_rule_set_name(stage)},
    )
    rule_set_name = lookup.get_att_string("RuleSetName")
    rule = ses.ReceiptRule(
        scope,
        "Reports",
        rule_set=ses.ReceiptRuleSet.from_receipt_rule_set_name(scope, "ActiveRuleSet", rule_set_name),
        receipt_rule_name=shared_rule_name(stage),
        **options,
    )
    return Receiving(rule=rule, rule_set_name=rule_set_name, lookup=lookup)


# --- helpers --------------------------------------------------------------------------------------------


def _role(scope: Construct, construct_id: str, description: str, log_group: logs.LogGroup) -> iam.Role:
    """A Lambda role that may write its own log group and nothing else (yet)."""
    role = iam.Role(
        scope, construct_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
        )
    )
    return role


def _logical_id(function: lambda_.Function) -> str:
    cfn = function.node.default_child
    return str(Stack.of(function).resolve(cfn.logical_id))  # type: ignore[union-attr]
