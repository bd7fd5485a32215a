"""Waf: a regional WAFv2 web ACL on the API stage (rate limit per client IP + AWS common rule set)."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Requests per client IP per 5-minute window before WAF blocks the IP (until its rate falls again).
# Well above any plan (enterprise: 1,000/min for all of an account's clients), so it only stops floods,
# mostly unauthenticated ones that never reach a usage plan.
DEFAULT_RATE_LIMIT_PER_5_MIN = 2000
RATE_WINDOW_SECONDS = 300


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class ApiWaf(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: apigw.Stage,
        name_prefix: str,
        rate_limit: int = DEFAULT_RATE_LIMIT_PER_5_MIN,
    ) -> None:
        super().__init__(scope, construct_id)

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="dmarcwatch API: rate limit per IP and AWS common rule set",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{name_prefix}-webacl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=rate_limit,
                            evaluation_window_sec=RATE_WINDOW_SECONDS,
                        )
                    ),
                    visibility_config=_visibility(f"{name_prefix}-rate-per-ip"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AWSManagedRulesCommonRuleSet",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name="AWSManagedRulesCommonRuleSet",
                            # The common rule set blocks bodies over 8 KB. Bulk requests (e.g. adding many
                            # domains) can be larger; the app enforces its own size limits and answers
                            # payload_too_large in the API's envelope, so this rule only counts.
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name="SizeRestrictions_BODY",
                                    action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                                )
                            ],
                        )
                    ),
                    visibility_config=_visibility(f"{name_prefix}-common-rule-set"),
                ),
            ],
        )

        self.association = wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        # The stage must exist before it can be associated.
        self.association.node.add_dependency(stage)
