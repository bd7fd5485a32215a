"""Waf: a regional WAFv2 web ACL on the API stage.

Rules, in order:
  0. RateLimitPerIp: every request, per client IP (floods of any kind).
  1. RateLimitUnauthenticatedPerIp: requests without an `Authorization` header, per client IP, at a much
     lower rate. They can only ever be answered 401 (or 404), yet each one counts against the stage-wide
     method throttle that all tenants share; without this rule a handful of addresses staying under
     rule 0 could use up that budget. Public routes (the health check) are exempt: uptime monitors call
     them without a key.
  2. The AWS managed common rule set.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Requests per client IP per 5-minute window before WAF blocks the IP (until its rate falls again).
# Well above any plan (enterprise: 1,000/min for all of an account's clients), so it only stops floods,
# mostly unauthenticated ones that never reach a usage plan.
DEFAULT_RATE_LIMIT_PER_5_MIN = 2000
# Requests without an Authorization header per client IP per 5 minutes (public routes exempt). A client
# that forgot its key learns that from the first 401; nobody needs 100 of them in 5 minutes.
DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN = 100
RATE_WINDOW_SECONDS = 300
AUTHORIZATION_HEADER = "authorization"


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _lowercase() -> list[wafv2.CfnWebACL.TextTransformationProperty]:
    return [wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")]


def _not(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
    )


def has_authorization_header() -> wafv2.CfnWebACL.StatementProperty:
    """True when the request carries an Authorization header, whatever its value.

    A header's *name* is inspected (match scope KEY): a missing SingleHeader would be a non-match only by
    convention, while a name match states presence directly.
    """
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                headers=wafv2.CfnWebACL.HeadersProperty(
                    match_pattern=wafv2.CfnWebACL.HeaderMatchPatternProperty(
                        included_headers=[AUTHORIZATION_HEADER]
                    ),
                    match_scope="KEY",
                    # Too many or too large headers to inspect: treat as present (the general rule still
                    # applies); never block a client for sending big headers.
                    oversize_handling="MATCH",
                )
            ),
            positional_constraint="EXACTLY",
            search_string=AUTHORIZATION_HEADER,
            text_transformations=_lowercase(),
        )
    )


def path_is(path: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="EXACTLY",
            search_string=path,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def unauthenticated_scope(public_paths: Sequence[str]) -> wafv2.CfnWebACL.StatementProperty:
    """No Authorization header, and not one of the public paths (as WAF sees them: with the stage)."""
    statements = [_not(has_authorization_header()), *(_not(path_is(p)) for p in sorted(set(public_paths)))]
    if len(statements) == 1:
        return statements[0]
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=statements)
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
        unauthenticated_rate_limit: int = DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN,
        public_paths: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not 10 <= unauthenticated_rate_limit < rate_limit:
            # WAF's minimum for a rate-based rule is 10; at or above the general limit the rule is useless.
            raise ValueError(
                f"the unauthenticated rate limit ({unauthenticated_rate_limit}) must be at least 10 and "
                f"below the per-IP rate limit ({rate_limit})"
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description=(
                "dmarcwatch API: per-IP rate limits, all and unauthenticated requests, AWS common rule set"
            ),
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
                    name="RateLimitUnauthenticatedPerIp",
                    priority=1,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=unauthenticated_rate_limit,
                            evaluation_window_sec=RATE_WINDOW_SECONDS,
                            scope_down_statement=unauthenticated_scope(public_paths),
                        )
                    ),
                    visibility_config=_visibility(f"{name_prefix}-unauthenticated-per-ip"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="AWSManagedRulesCommonRuleSet",
                    priority=2,
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
