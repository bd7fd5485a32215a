"""Template assertions on the synthesized dmarcwatch stack (synthesized once, see conftest.py).

Expected values come from the sources of truth (TABLE, PLANS, FUNCTION_GROUPS, WORKER_FUNCTIONS,
SCHEDULED_FUNCTIONS, route_specs()), never from copies of them. Inbound mail (bucket, SES, queues, workers'
wiring) is asserted in test_inbound.py, scanning (scan queue, scanner, dispatcher schedule) in
test_scanning.py.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dmarcwatch.api.registry import FUNCTION_GROUPS, SCHEDULED_FUNCTIONS, WORKER_FUNCTIONS, route_specs
from dmarcwatch.plans import PLANS
from dmarcwatch.table import TABLE
from infra.constructs.access import SCHEDULED_TABLE_ACCESS

if TYPE_CHECKING:
    from tests.infra.conftest import Synth

# One xdist worker synthesizes once for the whole module with `pytest -n N --dist loadgroup`.
pytestmark = [pytest.mark.infra, pytest.mark.xdist_group("infra")]

REPO_ROOT = Path(__file__).resolve().parents[2]

AUTHORIZER_DESCRIPTION_PREFIX = "dmarcwatch API: TOKEN authorizer"
API_GROUP_NAMES = {group.name for group in FUNCTION_GROUPS}
WORKER_NAMES = {worker.name for worker in WORKER_FUNCTIONS}
SCHEDULED_NAMES = {job.name for job in SCHEDULED_FUNCTIONS}
# Every function of the registry (API groups, workers, scheduled functions) plus the authorizer.
FUNCTION_COUNT = len(FUNCTION_GROUPS) + len(WORKER_FUNCTIONS) + len(SCHEDULED_FUNCTIONS) + 1


# --- helpers ------------------------------------------------------------------------------------------


def _registry_function_ids(synth: Synth) -> set[str]:
    return {_logical_id(synth, function) for function in synth.stack.functions.all_functions}


def _cdk_provider_functions(synth: Synth) -> dict[str, dict[str, Any]]:
    """The functions of custom resources (the SES rule set lookup and its provider framework): every Lambda
    function the Functions construct did not create."""
    ours = _registry_function_ids(synth)
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in synth.of_type("AWS::Lambda::Function").items()
        if logical_id not in ours
    }


def _functions_by_name(synth: Synth) -> dict[str, tuple[str, dict[str, Any]]]:
    """Group, worker or scheduled function name (or "authorizer") -> (logical id, properties), recognised
    by description. Custom resources' functions are left out (see _cdk_provider_functions)."""
    by_description = (
        {f"dmarcwatch API: {group.description}": group.name for group in FUNCTION_GROUPS}
        | {f"dmarcwatch worker: {worker.description}": worker.name for worker in WORKER_FUNCTIONS}
        | {f"dmarcwatch scheduled: {job.description}": job.name for job in SCHEDULED_FUNCTIONS}
    )
    assert len(by_description) == len(API_GROUP_NAMES | WORKER_NAMES | SCHEDULED_NAMES)
    ours = _registry_function_ids(synth)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in synth.of_type("AWS::Lambda::Function").items():
        props = resource["Properties"]
        if logical_id not in ours:
            continue
        if props["Description"].startswith(AUTHORIZER_DESCRIPTION_PREFIX):
            found["authorizer"] = (logical_id, props)
        else:
            found[by_description[props["Description"]]] = (logical_id, props)
    return found


def _role_statements(synth: Synth, function_props: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = function_props["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _method_paths(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path relative to the stage) -> Method properties, rebuilt from the resource tree."""
    resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(resource_id: Any) -> str:
        if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id:
            return ""  # the root resource
        props = resources[resource_id["Ref"]]["Properties"]
        return f"{path_of(props['ParentId'])}/{props['PathPart']}"

    return {
        (props["HttpMethod"], path_of(props["ResourceId"]) or "/"): props
        for props in (r["Properties"] for r in synth.of_type("AWS::ApiGateway::Method").values())
    }


def _logical_id(synth: Synth, construct: Any) -> str:
    """The logical id of an L2 construct's CloudFormation resource in the synthesized template."""
    return str(synth.stack.resolve(synth.stack.get_logical_id(construct.node.default_child)))


def _alarm_topic(synth: Synth) -> tuple[str, dict[str, Any]]:
    """The alarm topic (the other topic carries SES receipt notifications)."""
    topic_id = _logical_id(synth, synth.stack.monitoring.topic)
    return topic_id, synth.resources[topic_id]


def _single(synth: Synth, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = synth.of_type(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return next(iter(found.items()))


# --- functions ------------------------------------------------------------------------------------------


def test_one_function_per_registry_entry_plus_the_authorizer(synth: Synth) -> None:
    functions = _functions_by_name(synth)
    assert set(functions) == API_GROUP_NAMES | WORKER_NAMES | SCHEDULED_NAMES | {"authorizer"}
    # Custom resources: the SES rule set lookup and its provider framework.
    providers = _cdk_provider_functions(synth)
    assert len(providers) == 2, sorted(providers)
    synth.template.resource_count_is("AWS::Lambda::Function", FUNCTION_COUNT + len(providers))
    for _, props in functions.values():
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Handler"] == "handler.handler"
        assert len(props["Layers"]) == 2
        assert "LogGroup" in props["LoggingConfig"]


def test_functions_take_memory_and_timeout_from_the_registry(synth: Synth) -> None:
    functions = _functions_by_name(synth)
    for entry in (*FUNCTION_GROUPS, *WORKER_FUNCTIONS, *SCHEDULED_FUNCTIONS):
        _, props = functions[entry.name]
        assert props["MemorySize"] == entry.memory_mb
        assert props["Timeout"] == entry.timeout_seconds


def test_function_environment(synth: Synth) -> None:
    table_id, _ = _single(synth, "AWS::DynamoDB::Table")
    for name, (_, props) in _functions_by_name(synth).items():
        env = props["Environment"]["Variables"]
        assert env["DMARCWATCH_TABLE_NAME"] == {"Ref": table_id}
        assert env["DMARCWATCH_STAGE"] == "prod"
        assert env["DMARCWATCH_REPORTS_DOMAIN"] == synth.context["reportsDomain"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "dmarcwatch"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Dmarcwatch"
        assert env["LOG_LEVEL"] == "INFO"
        # The cursor secret is for the API functions only.
        assert ("DMARCWATCH_CURSOR_SECRET_ARN" in env) is (name in API_GROUP_NAMES)


def test_no_traced_function_records_responses_or_errors(synth: Synth) -> None:
    """H3: Powertools' Tracer would store each handler's return value (API responses: the plaintext key of
    POST /keys, presigned URLs; the authorizer's policy with the account's gateway key) and exceptions as
    X-Ray metadata. Every function that traces turns both off, and only CDK's own helper functions (which
    do not use Powertools) leave tracing off altogether."""
    traced = set()
    for logical_id, resource in synth.of_type("AWS::Lambda::Function").items():
        props = resource["Properties"]
        if props.get("TracingConfig", {}).get("Mode") != "Active":
            continue
        traced.add(logical_id)
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", logical_id
        assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", logical_id
    assert traced == {logical_id for logical_id, _ in _functions_by_name(synth).values()}


def test_each_function_has_its_own_least_privilege_role(synth: Synth) -> None:
    functions = _functions_by_name(synth)
    roles = {props["Role"]["Fn::GetAtt"][0] for _, props in functions.values()}
    assert len(roles) == len(functions)
    for role in synth.of_type("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]

    for name, (_, props) in functions.items():
        statements = _role_statements(synth, props)
        actions = {action for statement in statements for action in _actions(statement)}
        assert not any(action.endswith(":*") or action == "dynamodb:Scan" for action in actions), actions
        dynamodb = {a for a in actions if a.startswith("dynamodb:")}
        secrets = {a for a in actions if a.startswith("secretsmanager:")}
        if name == "authorizer":
            assert dynamodb == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
            assert not secrets
        elif name in WORKER_NAMES:
            assert {
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            } <= dynamodb
            assert not secrets
        elif name in SCHEDULED_NAMES:
            # Exactly what its entry in infra/constructs/access.py declares, nothing else.
            declared = SCHEDULED_TABLE_ACCESS[name]
            index_queries = ("dynamodb:Query",) if declared.indexes else ()
            assert dynamodb <= {*declared.read_actions, *declared.write_actions, *index_queries}
            assert not secrets
        else:
            assert {
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            } <= dynamodb
            assert secrets == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
        # Only X-Ray may use a "*" resource.
        for statement in statements:
            if statement["Resource"] == "*":
                assert set(_actions(statement)) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


# --- table and secret -----------------------------------------------------------------------------------


def test_table_is_built_from_the_table_definition(synth: Synth) -> None:
    _, table = _single(synth, "AWS::DynamoDB::Table")
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": TABLE.partition_key, "KeyType": "HASH"},
        {"AttributeName": TABLE.sort_key, "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TABLE.ttl_attribute, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": index.name,
            "KeySchema": [
                {"AttributeName": index.partition_key, "KeyType": "HASH"},
                {"AttributeName": index.sort_key, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index in TABLE.indexes
    ]


def test_cursor_secret_is_generated(synth: Synth) -> None:
    _, secret = _single(synth, "AWS::SecretsManager::Secret")
    assert "GenerateSecretString" in secret["Properties"]


# --- API --------------------------------------------------------------------------------------------------


def test_rest_api_takes_keys_from_the_authorizer(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"ApiKeySourceType": "AUTHORIZER", "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )


def test_stage_v1_with_tracing_access_logs_and_throttling(synth: Synth) -> None:
    _, stage = _single(synth, "AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "v1"
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    [settings] = props["MethodSettings"]
    assert settings["HttpMethod"] == "*"
    assert settings["ResourcePath"] == "/*"
    assert settings["MetricsEnabled"] is False
    assert settings["DataTraceEnabled"] is False
    # L3: the stage-wide limit is shared by every tenant, so it sits far above any one plan (usage plans
    # are the per-account limits); 100/s with bursts of 200 let a few sources starve everyone.
    assert settings["ThrottlingRateLimit"] >= 1000
    assert settings["ThrottlingBurstLimit"] >= 2 * settings["ThrottlingRateLimit"]
    top_plan_rate = max(plan.requests_per_minute for plan in PLANS.values()) / 60
    assert settings["ThrottlingRateLimit"] >= 50 * top_plan_rate


def test_token_authorizer_with_a_cache(synth: Synth) -> None:
    _, authorizer = _single(synth, "AWS::ApiGateway::Authorizer")
    props = authorizer["Properties"]
    assert props["Type"] == "TOKEN"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    # 300 s: the app re-checks the key on every request, so the cache only spares invocations.
    assert props["AuthorizerResultTtlInSeconds"] == 300
    authorizer_fn_id, _ = _functions_by_name(synth)["authorizer"]
    assert authorizer_fn_id in json.dumps(props["AuthorizerUri"])


def test_every_route_has_its_method(synth: Synth) -> None:
    routes = route_specs()
    methods = _method_paths(synth)
    assert set(methods) == {(route.method, route.path) for route in routes}

    # API Gateway invokes each group's alias (its SnapStart-published version; test_snapstart.py).
    alias_ids = {name: _logical_id(synth, alias) for name, alias in synth.stack.functions.api_aliases.items()}
    authorizer_id, _ = _single(synth, "AWS::ApiGateway::Authorizer")
    for route in routes:
        method = methods[(route.method, route.path)]
        assert method["Integration"]["Type"] == "AWS_PROXY"
        assert alias_ids[route.group] in json.dumps(method["Integration"]["Uri"]), route
        if route.public:
            assert method["AuthorizationType"] == "NONE", route
            assert method["ApiKeyRequired"] is False, route
        else:
            assert method["AuthorizationType"] == "CUSTOM", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
            assert method["ApiKeyRequired"] is True, route


def test_group_routes_share_one_resource_tree(synth: Synth) -> None:
    """/domains/{domain_id} belongs to `domains`, /domains/{domain_id}/stats to `reports`: one resource per
    path, each method integrated with its own group's function (through its alias)."""
    methods = _method_paths(synth)
    function_ids = {
        name: _logical_id(synth, alias) for name, alias in synth.stack.functions.api_aliases.items()
    }
    paths_by_group: dict[str, set[str]] = {}
    for route in route_specs():
        paths_by_group.setdefault(route.group, set()).add(route.path)
        uri = json.dumps(methods[(route.method, route.path)]["Integration"]["Uri"])
        assert function_ids[route.group] in uri, route
        assert all(function_ids[g] not in uri for g in API_GROUP_NAMES - {route.group}), route
    # The case that motivates this test: a parent path of one group under which another group has routes.
    nested = [
        (parent, child)
        for parent in paths_by_group.get("domains", set())
        for child in paths_by_group.get("reports", set())
        if child.startswith(parent + "/")
    ]
    assert nested, "expected reports routes under a domains path (e.g. /domains/{domain_id}/stats)"
    resource_paths = [path for (_, path) in methods]
    for parent, child in nested:
        assert parent in resource_paths
        assert child in resource_paths


def test_resources_match_the_route_paths(synth: Synth) -> None:
    prefixes = set()
    for route in route_specs():
        segments = [s for s in route.path.split("/") if s]
        prefixes |= {"/".join(segments[: i + 1]) for i in range(len(segments))}
    synth.template.resource_count_is("AWS::ApiGateway::Resource", len(prefixes))
    synth.template.resource_count_is("AWS::ApiGateway::Method", len(route_specs()))


def test_one_invoke_permission_per_api_function(synth: Synth) -> None:
    api_permissions = [
        p
        for p in synth.of_type("AWS::Lambda::Permission").values()
        if "/*/*/*" in json.dumps(p["Properties"])
    ]
    assert len(api_permissions) == len(FUNCTION_GROUPS)


@pytest.mark.parametrize(
    ("response_type", "status", "code"),
    [
        ("UNAUTHORIZED", "401", "invalid_api_key"),
        ("ACCESS_DENIED", "401", "$context.authorizer.error_code"),
        ("MISSING_AUTHENTICATION_TOKEN", "404", "not_found"),
        ("THROTTLED", "429", "rate_limit_exceeded"),
        ("QUOTA_EXCEEDED", "429", "quota_exceeded"),
        ("DEFAULT_4XX", None, "validation_error"),
        ("DEFAULT_5XX", None, "internal_error"),
    ],
)
def test_gateway_responses_use_the_error_envelope(
    synth: Synth, response_type: str, status: str | None, code: str
) -> None:
    [props] = [
        r["Properties"]
        for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == response_type
    ]
    assert props.get("StatusCode") == status
    body = json.loads(props["ResponseTemplates"]["application/json"])
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == "$context.requestId"
    assert body["error"]["details"] == []
    assert body["error"]["message"]
    assert props["ResponseParameters"]["gatewayresponse.header.X-Request-Id"] == "context.requestId"


def test_usage_plan_per_plan_with_its_limits(synth: Synth) -> None:
    _, stage = _single(synth, "AWS::ApiGateway::Stage")
    stage_id = next(iter(synth.of_type("AWS::ApiGateway::Stage")))
    plans = {
        p["Properties"]["UsagePlanName"]: p["Properties"]
        for p in synth.of_type("AWS::ApiGateway::UsagePlan").values()
    }
    assert len(plans) == len(PLANS)
    for name, plan in PLANS.items():
        props = plans[f"dmarcwatch-prod-{name.value}"]
        assert props["Throttle"]["RateLimit"] == pytest.approx(plan.requests_per_minute / 60)
        assert props["Throttle"]["BurstLimit"] >= 10
        if plan.requests_per_day is None:
            assert "Quota" not in props
        else:
            assert props["Quota"] == {"Limit": plan.requests_per_day, "Period": "DAY"}
        [api_stage] = props["ApiStages"]
        assert api_stage["Stage"] == {"Ref": stage_id}
    assert stage["Properties"]["StageName"] == "v1"


def test_usage_plans_parameter_names_every_plan(synth: Synth) -> None:
    [props] = [
        p["Properties"]
        for p in synth.of_type("AWS::SSM::Parameter").values()
        if p["Properties"]["Name"] == "/dmarcwatch/usage-plans"
    ]
    # Resolve the Fn::Join with each Ref replaced by its logical id, then read it as JSON.
    parts = props["Value"]["Fn::Join"][1]
    value = json.loads("".join(part if isinstance(part, str) else part["Ref"] for part in parts))
    plan_ids = {
        p["Properties"]["UsagePlanName"].rsplit("-", 1)[1]: logical_id
        for logical_id, p in synth.of_type("AWS::ApiGateway::UsagePlan").items()
    }
    assert value == plan_ids
    assert set(value) == {name.value for name in PLANS}


def test_other_stages_get_their_own_usage_plans_parameter() -> None:
    from infra.constructs.api import usage_plans_parameter_name

    assert usage_plans_parameter_name("prod") == "/dmarcwatch/usage-plans"
    assert usage_plans_parameter_name("dev") == "/dmarcwatch/dev/usage-plans"


# --- WAF, monitoring, outputs --------------------------------------------------------------------------


def test_waf_is_associated_with_the_stage(synth: Synth) -> None:
    acl_id, acl = _single(synth, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    statements = [rule["Statement"] for rule in props["Rules"]]
    assert any(s.get("RateBasedStatement", {}).get("AggregateKeyType") == "IP" for s in statements)
    assert any(
        s.get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet"
        for s in statements
    )

    _, association = _single(synth, "AWS::WAFv2::WebACLAssociation")
    stage_id = next(iter(synth.of_type("AWS::ApiGateway::Stage")))
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


def _rate_rules(synth: Synth) -> dict[str, dict[str, Any]]:
    _, acl = _single(synth, "AWS::WAFv2::WebACL")
    return {
        rule["Name"]: rule for rule in acl["Properties"]["Rules"] if "RateBasedStatement" in rule["Statement"]
    }


def _negated(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements a scope-down statement requires to be false (NOT, or an AND of NOTs)."""
    parts = statement["AndStatement"]["Statements"] if "AndStatement" in statement else [statement]
    assert all(set(part) == {"NotStatement"} for part in parts), parts
    return [part["NotStatement"]["Statement"] for part in parts]


def test_waf_limits_requests_without_a_key_far_below_the_general_rate(synth: Synth) -> None:
    """L3: requests without an Authorization header (always 401, yet counted by the shared stage throttle)
    get their own, much lower per-IP rate; the public routes (health) are exempt."""
    rules = _rate_rules(synth)
    general = rules["RateLimitPerIp"]["Statement"]["RateBasedStatement"]
    unauthenticated_rule = rules["RateLimitUnauthenticatedPerIp"]
    assert unauthenticated_rule["Action"] == {"Block": {}}
    unauthenticated = unauthenticated_rule["Statement"]["RateBasedStatement"]
    assert "ScopeDownStatement" not in general
    assert unauthenticated["AggregateKeyType"] == "IP"
    assert unauthenticated["EvaluationWindowSec"] == general["EvaluationWindowSec"]
    assert 10 <= unauthenticated["Limit"] <= general["Limit"] // 10

    negated = _negated(unauthenticated["ScopeDownStatement"])
    header_checks = [
        n["ByteMatchStatement"] for n in negated if "Headers" in n["ByteMatchStatement"]["FieldToMatch"]
    ]
    assert header_checks == [
        {
            "FieldToMatch": {
                "Headers": {
                    "MatchPattern": {"IncludedHeaders": ["authorization"]},
                    "MatchScope": "KEY",
                    "OversizeHandling": "MATCH",
                }
            },
            "PositionalConstraint": "EXACTLY",
            "SearchString": "authorization",
            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
        }
    ]
    exempt = {
        n["ByteMatchStatement"]["SearchString"]
        for n in negated
        if "UriPath" in n["ByteMatchStatement"]["FieldToMatch"]
    }
    public = {"/v1" + route.path for route in route_specs() if route.public}
    assert public, "expected a public route (GET /health)"
    assert exempt == public
    assert len(negated) == 1 + len(public)


def test_waf_rule_order(synth: Synth) -> None:
    _, acl = _single(synth, "AWS::WAFv2::WebACL")
    ordered = sorted(acl["Properties"]["Rules"], key=lambda rule: rule["Priority"])
    assert [rule["Name"] for rule in ordered] == [
        "RateLimitPerIp",
        "RateLimitUnauthenticatedPerIp",
        "AWSManagedRulesCommonRuleSet",
    ]


def test_waf_refuses_an_unauthenticated_limit_that_does_nothing() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_apigateway as apigw

    from infra.constructs.waf import ApiWaf

    stack = cdk.Stack(cdk.App(), "WafOnly")
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET")
    for limit in (5, 2000, 5000):
        with pytest.raises(ValueError, match="unauthenticated rate limit"):
            ApiWaf(
                stack,
                f"Waf{limit}",
                stage=api.deployment_stage,
                name_prefix="x",
                rate_limit=2000,
                unauthenticated_rate_limit=limit,
            )


def test_alarms_for_the_api_and_every_function(synth: Synth) -> None:
    topic_id, topic = _alarm_topic(synth)
    assert "KmsMasterKeyId" in topic["Properties"]
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    assert all(a["AlarmActions"] == [{"Ref": topic_id}] for a in alarms)
    by_metric: dict[str, int] = {}
    for alarm in alarms:
        by_metric[alarm["MetricName"]] = by_metric.get(alarm["MetricName"], 0) + 1
    assert by_metric["Errors"] == FUNCTION_COUNT
    assert by_metric["Throttles"] == FUNCTION_COUNT
    assert by_metric["5XXError"] == 1
    assert by_metric["Latency"] == 1


def test_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    assert {"ApiUrl", "TableName", "UsagePlansParameter"} <= set(outputs)


# --- cdk-nag ------------------------------------------------------------------------------------------------


def test_no_unacknowledged_cdk_nag_findings(synth: Synth) -> None:
    from cdk_nag import AwsSolutionsChecks

    report = AwsSolutionsChecks(verbose=True).validate_scope(synth.app)
    findings = [
        f"{v.severity} {v.rule_name} at {[r.construct_path for r in v.violating_resources]}: {v.description}"
        for v in report.violations
    ]
    # Errors and warnings alike: cdk-nag v3 fails the synth on either.
    assert findings == []


# --- guards -------------------------------------------------------------------------------------------------


def test_synth_without_the_deps_layer_says_how_to_build_it(tmp_path: Path) -> None:
    import aws_cdk as cdk

    from infra.constructs.functions import DepsLayerMissingError
    from infra.stack import DmarcwatchStack

    with pytest.raises(DepsLayerMissingError, match="make layer"):
        DmarcwatchStack(cdk.App(outdir=str(tmp_path)), "NoLayer", deps_layer_dir=tmp_path / "missing")


def test_route_check_refuses_what_api_gateway_refuses() -> None:
    from dmarcwatch.api.registry import RouteSpec
    from infra.constructs.api import check_routes

    with pytest.raises(ValueError, match="different path variables"):
        check_routes(
            [
                RouteSpec("domains", "GET", "/domains/{id}", False, "a"),
                RouteSpec("domains", "DELETE", "/domains/{domain_id}", False, "b"),
            ]
        )
    with pytest.raises(ValueError, match="cannot express"):
        check_routes([RouteSpec("meta", "GET", "/files/{path:path}", False, "c")])


def test_deps_layer_is_built_from_pyproject_dependencies() -> None:
    from infra.build_deps_layer import build_spec, dependencies

    with (REPO_ROOT / "pyproject.toml").open("rb") as f:
        expected = tomllib.load(f)["project"]["dependencies"]
    assert dependencies() == expected
    assert build_spec(expected)["python_version"] == "3.12"
