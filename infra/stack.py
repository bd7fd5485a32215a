"""The one dmarcwatch stack: storage, functions, API, WAF and monitoring, wired together."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from dmarcwatch.api.registry import FUNCTION_GROUPS, FunctionGroup, RouteSpec, route_specs
from dmarcwatch.plans import PLANS, Plan, PlanName
from infra import REPO_ROOT
from infra.constructs.api import DEFAULT_STAGE, Api
from infra.constructs.functions import Functions
from infra.constructs.monitoring import Monitoring
from infra.constructs.storage import Storage
from infra.constructs.waf import DEFAULT_RATE_LIMIT_PER_5_MIN, ApiWaf

DEFAULT_REPORTS_DOMAIN = "reports.example.com"
DEFAULT_DEPS_LAYER_DIR = REPO_ROOT / "build" / "layers" / "deps"
_STAGE_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")


class DmarcwatchStack(Stack):
    """Everything of one deployment (`stage`) of dmarcwatch.

    `routes`, `groups` and `plans` default to the sources of truth in the shared package; tests may pass
    their own. `deps_layer_dir` defaults to the output of infra/build_deps_layer.py.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str = DEFAULT_STAGE,
        reports_domain: str = DEFAULT_REPORTS_DOMAIN,
        alarm_email: str | None = None,
        waf_rate_limit: int = DEFAULT_RATE_LIMIT_PER_5_MIN,
        routes: Sequence[RouteSpec] | None = None,
        groups: Sequence[FunctionGroup] = FUNCTION_GROUPS,
        plans: Mapping[PlanName, Plan] = PLANS,
        deps_layer_dir: Path = DEFAULT_DEPS_LAYER_DIR,
        **kwargs: Any,
    ) -> None:
        if not _STAGE_RE.match(stage):
            raise ValueError(f"stage {stage!r} must match {_STAGE_RE.pattern}")
        super().__init__(scope, construct_id, **kwargs)
        routes = list(route_specs() if routes is None else routes)

        storage = Storage(self, "Storage")
        functions = Functions(
            self,
            "Functions",
            storage=storage,
            groups=groups,
            stage=stage,
            reports_domain=reports_domain,
            deps_layer_dir=deps_layer_dir,
        )
        api = Api(
            self,
            "Api",
            stage=stage,
            routes=routes,
            functions=functions.api_functions,
            authorizer_function=functions.authorizer,
            plans=plans,
        )
        waf = ApiWaf(
            self, "Waf", stage=api.stage, name_prefix=f"dmarcwatch-{stage}", rate_limit=waf_rate_limit
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            rest_api=api.rest_api,
            functions={f"api-{name}": fn for name, fn in functions.api_functions.items()}
            | {"authorizer": functions.authorizer},
            alarm_email=alarm_email,
        )

        self.storage = storage
        self.functions = functions
        self.api = api
        self.waf = waf
        self.monitoring = monitoring

        CfnOutput(self, "ApiUrl", value=api.rest_api.url, description="Base URL of the API (stage v1)")
        CfnOutput(self, "TableName", value=storage.table.table_name, description="The DynamoDB table")
        CfnOutput(
            self,
            "UsagePlansParameter",
            value=api.usage_plans_parameter.parameter_name,
            description="SSM parameter with the usage plan id of each plan (for `dmarcwatch admin`)",
        )
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn, description="SNS topic of alarms")
