"""Api: the REST API (stage v1) built from `route_specs()`, its TOKEN authorizer, gateway responses shaped
like the app's error envelope, one usage plan per plan in PLANS and the SSM parameter naming them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from dmarcwatch.api.registry import API_PREFIX, RouteSpec
from dmarcwatch.plans import Plan, PlanName
from infra.constructs.functions import LOG_RETENTION
from infra.constructs.nag import acknowledge

# The API's base path is the stage: https://<api>/v1/domains.
STAGE_NAME = API_PREFIX.strip("/")
# Read by `dmarcwatch admin` (Settings.usage_plans_parameter, default "/dmarcwatch/usage-plans").
USAGE_PLANS_PARAMETER = "/dmarcwatch/usage-plans"
DEFAULT_STAGE = "prod"


def usage_plans_parameter_name(stage: str) -> str:
    """The default stage uses the name the admin CLI expects by default; any other stage gets its own name
    (set DMARCWATCH_USAGE_PLANS_PARAMETER for it), so two stages can share an account and region."""
    return USAGE_PLANS_PARAMETER if stage == DEFAULT_STAGE else f"/dmarcwatch/{stage}/usage-plans"


# Authorizer result cache. The cache key is the token, and the cached policy allows every route (the
# authorizer calls allow_all_routes()), so a cached result is reused across methods. Caching is safe for
# revocation and expiry because the app authenticates the key again on every request with a strongly
# consistent read (dmarcwatch.auth.principal.authenticate): a revoked or expired key is refused at once
# even while its authorizer result is cached. The cache therefore only spares authorizer invocations (and
# their latency); 300 s (the API Gateway default, max 3600) bounds how long a changed usage plan key or
# tenant context can lag behind.
AUTHORIZER_CACHE_TTL = Duration.seconds(300)

# Stage-wide default method throttling (all clients together, per method). The per-account limits are the
# usage plans; this only protects the functions' concurrency and the table from a flood across many keys.
# It is shared by every tenant, so it must sit far above what legitimate traffic needs at once (a few
# dozen enterprise accounts at their plan's 16.7/s on the same method) or one noisy source starves all:
# unauthenticated floods are stopped before it by WAF (infra/constructs/waf.py). It stays below the
# account's regional API Gateway default (10,000/s, burst 5,000).
STAGE_THROTTLE_RATE = 1000
STAGE_THROTTLE_BURST = 2000

# Access log line: JSON, one object per request, every value a string so a missing value ("-") never
# breaks the JSON.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "authorizerError": "$context.authorizer.error",
    "principalId": "$context.authorizer.principalId",
    "apiKeyId": "$context.identity.apiKeyId",
    "errorType": "$context.error.responseType",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}


def _error_body(code: str, message: str) -> str:
    # Same envelope as dmarcwatch.api.errors. Gateway response templates are not run through VTL; only
    # $context variables are substituted, so the body is a fixed JSON text.
    body = {"error": {"code": code, "message": message, "request_id": "$context.requestId", "details": []}}
    return json.dumps(body, separators=(",", ":"))


# (response type, status code, error code, message, extra headers)
GATEWAY_RESPONSES: list[tuple[apigw.ResponseType, str, str, str, dict[str, str]]] = [
    (apigw.ResponseType.UNAUTHORIZED, "401", "invalid_api_key", "missing, invalid or revoked API key", {}),
    # The authorizer denies (rather than failing) only to say *why*: an expired key. Its policy context
    # carries the envelope's code and message, so the client gets key_expired as the app would answer.
    (
        apigw.ResponseType.ACCESS_DENIED,
        "401",
        "$context.authorizer.error_code",
        "$context.authorizer.error_message",
        {},
    ),
    # API Gateway answers MISSING_AUTHENTICATION_TOKEN (403 by default) when no resource/method matches
    # the request: every authenticated method has a TOKEN authorizer, and a missing Authorization header
    # on a known route is UNAUTHORIZED. So this response type means "no such route": 404 not_found.
    (
        apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        "404",
        "not_found",
        "no route matches this method and path",
        {},
    ),
    # The authorizer allowed the key but its usage identifier (the account's gateway key) is not attached
    # to a usage plan, or is disabled.
    (
        apigw.ResponseType.INVALID_API_KEY,
        "403",
        "forbidden",
        "API access is not enabled for this account",
        {},
    ),
    (
        apigw.ResponseType.THROTTLED,
        "429",
        "rate_limit_exceeded",
        "too many requests; slow down and retry",
        {"Retry-After": "'1'"},
    ),
    # Quotas are per UTC day; API Gateway cannot compute the time to the reset, so Retry-After is a fixed
    # hint.
    (
        apigw.ResponseType.QUOTA_EXCEEDED,
        "429",
        "quota_exceeded",
        "daily request quota of your plan exceeded",
        {"Retry-After": "'3600'"},
    ),
    (
        apigw.ResponseType.WAF_FILTERED,
        "403",
        "forbidden",
        "request blocked by the web application firewall",
        {},
    ),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large", "request payload too large", {}),
    (apigw.ResponseType.DEFAULT_4_XX, "", "validation_error", "the request could not be processed", {}),
    (apigw.ResponseType.DEFAULT_5_XX, "", "internal_error", "internal error", {}),
]


_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")
_VARIABLE_SEGMENT = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def check_routes(routes: Sequence[RouteSpec]) -> None:
    """Refuse at synth what API Gateway would refuse at deploy: duplicate methods, path segments it cannot
    express (e.g. Starlette's `{name:path}`), and sibling variables with different names
    (`/domains/{id}` next to `/domains/{domain_id}`)."""
    seen: set[tuple[str, str]] = set()
    variables: dict[str, set[str]] = {}
    for route in routes:
        if (route.method, route.path) in seen:
            raise ValueError(f"duplicate route {route.method} {route.path}")
        seen.add((route.method, route.path))
        parent = ""
        for segment in [s for s in route.path.split("/") if s]:
            match = _VARIABLE_SEGMENT.match(segment)
            if match:
                variables.setdefault(parent, set()).add(match.group(1))
            elif not _LITERAL_SEGMENT.match(segment):
                raise ValueError(f"route {route.method} {route.path}: API Gateway cannot express {segment!r}")
            parent = f"{parent}/{segment}"
    for parent, names in variables.items():
        if len(names) > 1:
            raise ValueError(f"routes under {parent or '/'} use different path variables {sorted(names)}")


def usage_plan_throttle(plan: Plan) -> apigw.ThrottleSettings:
    """Steady rate per second from requests per minute; burst of 10 s of traffic, at least 10."""
    return apigw.ThrottleSettings(
        rate_limit=plan.requests_per_minute / 60,
        burst_limit=max(10, plan.requests_per_minute // 6),
    )


def usage_plan_quota(plan: Plan) -> apigw.QuotaSettings | None:
    if plan.requests_per_day is None:
        return None
    return apigw.QuotaSettings(limit=plan.requests_per_day, period=apigw.Period.DAY)


class Api(Construct):
    """The REST API; `rest_api.deployment_stage` is the `v1` stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        routes: Sequence[RouteSpec],
        functions: Mapping[str, lambda_.IFunction],
        authorizer_function: lambda_.IFunction,
        plans: Mapping[PlanName, Plan],
    ) -> None:
        super().__init__(scope, construct_id)
        check_routes(routes)

        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"dmarcwatch-{stage}",
            description="dmarcwatch DMARC/DNS monitoring API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The TOKEN authorizer returns the account's gateway key as usageIdentifierKey; clients never
            # send x-api-key.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # No account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account): see APIG6 below.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                metrics_enabled=False,
                data_trace_enabled=False,
                throttling_rate_limit=STAGE_THROTTLE_RATE,
                throttling_burst_limit=STAGE_THROTTLE_BURST,
            ),
        )
        self.stage = self.rest_api.deployment_stage

        self.authorizer = apigw.TokenAuthorizer(
            self,
            "KeyAuthorizer",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
            authorizer_name=f"dmarcwatch-{stage}-api-key",
        )

        self.methods: dict[tuple[str, str], apigw.Method] = {}
        integrations: dict[str, apigw.LambdaIntegration] = {}
        for route in routes:
            if route.group not in functions:
                raise KeyError(
                    f"route {route.method} {route.path} names unknown function group {route.group}"
                )
            integration = integrations.get(route.group)
            if integration is None:
                # One invoke permission per function for the whole API (not one per method), which keeps
                # the functions' resource policies far below the 20 KB limit as routes grow.
                integration = apigw.LambdaIntegration(
                    functions[route.group], proxy=True, scope_permission_to_method=False
                )
                integrations[route.group] = integration
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.public:
                method = resource.add_method(
                    route.method,
                    integration,
                    authorization_type=apigw.AuthorizationType.NONE,
                    api_key_required=False,
                    operation_name=route.name,
                )
                acknowledge(
                    method,
                    "AwsSolutions-APIG4",
                    f"{route.method} {route.path} is public by design (x-public in its router), e.g. the "
                    "health check for uptime monitors and load balancers; it returns no tenant data.",
                )
            else:
                method = resource.add_method(
                    route.method,
                    integration,
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.CUSTOM,
                    api_key_required=True,
                    operation_name=route.name,
                )
            self.methods[(route.method, route.path)] = method

        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Clients are machines holding dmarcwatch API keys, not Cognito users: authenticated methods use "
            "the API-key TOKEN authorizer (and usage plans), public ones (health) need no authorization.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "Requests are validated by the application (FastAPI/pydantic) behind the Lambda proxy "
            "integration, which answers validation_error in the API's error envelope; an API Gateway "
            "request validator would duplicate the schemas and answer in a different shape.",
        )
        acknowledge(
            self.stage,
            "AwsSolutions-APIG6",
            "Execution logging needs the region-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), "
            "a singleton this stack must not overwrite in the deployer's account. The stage has JSON access "
            "logs with requestId, status, authorizer and integration status/latency/error, plus X-Ray.",
        )

        self._add_gateway_responses()
        self.usage_plans = self._add_usage_plans(stage, plans)

        self.usage_plans_parameter = ssm.StringParameter(
            self,
            "UsagePlansParameter",
            parameter_name=usage_plans_parameter_name(stage),
            description="dmarcwatch: usage plan id per plan, read by `dmarcwatch admin`",
            string_value=Stack.of(self).to_json_string(
                {name.value: plan.usage_plan_id for name, plan in self.usage_plans.items()}
            ),
        )

    def _add_gateway_responses(self) -> None:
        for response_type, status, code, message, headers in GATEWAY_RESPONSES:
            self.rest_api.add_gateway_response(
                f"{code}-{response_type.response_type}",
                type=response_type,
                status_code=status or None,
                response_headers={"X-Request-Id": "context.requestId", **headers},
                templates={"application/json": _error_body(code, message)},
            )

    def _add_usage_plans(self, stage: str, plans: Mapping[PlanName, Plan]) -> dict[PlanName, apigw.UsagePlan]:
        usage_plans: dict[PlanName, apigw.UsagePlan] = {}
        for name, plan in plans.items():
            limits = f"{plan.requests_per_minute}/min, " + (
                f"{plan.requests_per_day}/day" if plan.requests_per_day is not None else "no daily quota"
            )
            usage_plans[name] = self.rest_api.add_usage_plan(
                f"UsagePlan{name.value.capitalize()}",
                name=f"dmarcwatch-{stage}-{name.value}",
                description=f"dmarcwatch {name.value} plan: {limits}",
                throttle=usage_plan_throttle(plan),
                quota=usage_plan_quota(plan),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.stage)],
            )
        return usage_plans
