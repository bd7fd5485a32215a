"""The one dmarcwatch stack: storage, inbound mail, scanning, functions, API, WAF and monitoring, wired
together.

Context read here (besides what infra/app.py reads):
  sesRuleSetMode          `active` (default): the SES receipt rule joins the region's active rule set (one
                          named `dmarcwatch` is created and activated only when none is active);
                          `dedicated`: the stack's own rule set `dmarcwatch-<stage>`
  sesActivateRuleSet      dedicated mode only: make that rule set the region's active one (replacing the
                          active set), default true
  hostedZoneId, hostedZoneName
                          both given: publish the reports domain's MX record and the RFC 7489 §7.1
                          `*._report._dmarc.<reportsDomain>` TXT record in that Route 53 zone
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from dmarcwatch.api.registry import (
    API_PREFIX,
    FUNCTION_GROUPS,
    SCHEDULED_FUNCTIONS,
    WORKER_FUNCTIONS,
    FunctionGroup,
    Resource,
    RouteSpec,
    ScheduledFunction,
    WorkerFunction,
    route_specs,
)
from dmarcwatch.plans import PLANS, Plan, PlanName
from infra import REPO_ROOT
from infra.constructs.api import DEFAULT_STAGE, Api
from infra.constructs.functions import Functions
from infra.constructs.inbound import HostedZoneRecords, Inbound
from infra.constructs.monitoring import Monitoring
from infra.constructs.scanning import Scanning
from infra.constructs.ses_receiving import RuleSetChoice, RuleSetMode
from infra.constructs.storage import Storage
from infra.constructs.tasks import Tasks
from infra.constructs.waf import (
    DEFAULT_RATE_LIMIT_PER_5_MIN,
    DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN,
    ApiWaf,
)

DEFAULT_REPORTS_DOMAIN = "reports.example.com"
DEFAULT_DEPS_LAYER_DIR = REPO_ROOT / "build" / "layers" / "deps"
_STAGE_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def context_flag(value: Any, *, default: bool, name: str) -> bool:
    """A boolean context value: JSON booleans from cdk.json, strings from `-c key=value`."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"context {name}={value!r}: expected true or false")


def rule_set_from_context(mode: Any, activate: Any, legacy_activate: Any = None) -> RuleSetChoice:
    """`sesRuleSetMode` and `sesActivateRuleSet`; the pre-modes `activateReceiptRuleSet` is refused rather
    than silently reinterpreted (its deployments have a dedicated rule set: see docs/deploy.md)."""
    if legacy_activate not in (None, ""):
        raise ValueError(
            "context activateReceiptRuleSet was replaced by sesRuleSetMode (active|dedicated) and "
            "sesActivateRuleSet: a stack deployed with it keeps its rule set with "
            "-c sesRuleSetMode=dedicated (and -c sesActivateRuleSet=<the old value>); see docs/deploy.md, "
            "'Receipt rule set'"
        )
    text = str(mode).strip().lower() if mode not in (None, "") else RuleSetMode.ACTIVE.value
    try:
        chosen = RuleSetMode(text)
    except ValueError:
        raise ValueError(f"context sesRuleSetMode={mode!r}: expected active or dedicated") from None
    if chosen is RuleSetMode.ACTIVE and activate not in (None, ""):
        raise ValueError(
            "context sesActivateRuleSet applies to sesRuleSetMode=dedicated only (in active mode the stack "
            "never changes which rule set is active, except to activate the one it creates when none is)"
        )
    return RuleSetChoice(chosen, context_flag(activate, default=True, name="sesActivateRuleSet"))


def hosted_zone_from_context(zone_id: Any, zone_name: Any) -> HostedZoneRecords | None:
    if not zone_id and not zone_name:
        return None
    if not (zone_id and zone_name):
        raise ValueError("context hostedZoneId and hostedZoneName go together: give both or neither")
    return HostedZoneRecords(str(zone_id), str(zone_name))


class DmarcwatchStack(Stack):
    """Everything of one deployment (`stage`) of dmarcwatch.

    `routes`, `groups`, `workers`, `scheduled` and `plans` default to the sources of truth in the shared
    package; tests may pass their own. `deps_layer_dir` defaults to the output of infra/build_deps_layer.py.
    `ses_rule_set` and `hosted_zone` default to the context (see the module docstring).
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
        waf_unauthenticated_rate_limit: int = DEFAULT_UNAUTHENTICATED_RATE_LIMIT_PER_5_MIN,
        routes: Sequence[RouteSpec] | None = None,
        groups: Sequence[FunctionGroup] = FUNCTION_GROUPS,
        workers: Sequence[WorkerFunction] = WORKER_FUNCTIONS,
        scheduled: Sequence[ScheduledFunction] = SCHEDULED_FUNCTIONS,
        plans: Mapping[PlanName, Plan] = PLANS,
        deps_layer_dir: Path = DEFAULT_DEPS_LAYER_DIR,
        ses_rule_set: RuleSetChoice | None = None,
        hosted_zone: HostedZoneRecords | None = None,
        **kwargs: Any,
    ) -> None:
        if not _STAGE_RE.match(stage):
            raise ValueError(f"stage {stage!r} must match {_STAGE_RE.pattern}")
        super().__init__(scope, construct_id, **kwargs)
        routes = list(route_specs() if routes is None else routes)
        if ses_rule_set is None:
            ses_rule_set = rule_set_from_context(
                self.node.try_get_context("sesRuleSetMode"),
                self.node.try_get_context("sesActivateRuleSet"),
                self.node.try_get_context("activateReceiptRuleSet"),
            )
        if hosted_zone is None:
            hosted_zone = hosted_zone_from_context(
                self.node.try_get_context("hostedZoneId"), self.node.try_get_context("hostedZoneName")
            )

        storage = Storage(self, "Storage")
        inbound = Inbound(
            self,
            "Inbound",
            stage=stage,
            reports_domain=reports_domain,
            workers=workers,
            rule_set=ses_rule_set,
            hosted_zone=hosted_zone,
        )
        scanning = Scanning(self, "Scanning", workers=workers)
        tasks = Tasks(self, "Tasks", workers=workers, access_log_bucket=inbound.access_log_bucket)
        functions = Functions(
            self,
            "Functions",
            storage=storage,
            groups=groups,
            workers=workers,
            scheduled=scheduled,
            stage=stage,
            reports_domain=reports_domain,
            deps_layer_dir=deps_layer_dir,
            raw_bucket=inbound.raw_bucket,
            queues={
                Resource.INGEST_QUEUE: inbound.ingest_queue,
                Resource.SCAN_QUEUE: scanning.scan_queue,
                **tasks.queues,
            },
            exports_bucket=tasks.exports_bucket,
        )
        api = Api(
            self,
            "Api",
            stage=stage,
            routes=routes,
            functions=functions.api_aliases,
            authorizer_function=functions.authorizer,
            plans=plans,
        )
        waf = ApiWaf(
            self,
            "Waf",
            stage=api.stage,
            name_prefix=f"dmarcwatch-{stage}",
            rate_limit=waf_rate_limit,
            unauthenticated_rate_limit=waf_unauthenticated_rate_limit,
            # The paths as WAF sees them: the stage (= API_PREFIX) is part of the request path.
            public_paths=[API_PREFIX + route.path for route in routes if route.public],
        )
        monitoring = Monitoring(
            self,
            "Monitoring",
            rest_api=api.rest_api,
            functions={f"api-{name}": fn for name, fn in functions.api_functions.items()}
            | {"authorizer": functions.authorizer}
            | {f"worker-{name}": fn for name, fn in functions.worker_functions.items()}
            | {f"scheduled-{name}": fn for name, fn in functions.scheduled_functions.items()},
            dead_letter_queues={
                "IngestDlq": inbound.dead_letter_queue,
                "ScanDlq": scanning.dead_letter_queue,
                "ExportDlq": tasks.export_dead_letter_queue,
                "WhoisDlq": tasks.whois_dead_letter_queue,
            }
            | (
                {"ScheduleDlq": functions.schedule_dead_letter_queue}
                if functions.schedule_dead_letter_queue is not None
                else {}
            ),
            queue_max_ages={
                "IngestQueue": (inbound.ingest_queue, inbound.max_message_age),
                "ScanQueue": (scanning.scan_queue, scanning.max_message_age),
                "ExportQueue": (tasks.export_queue, tasks.export_max_message_age),
                "WhoisQueue": (tasks.whois_queue, tasks.whois_max_message_age),
            },
            alarm_email=alarm_email,
        )

        self.storage = storage
        self.inbound = inbound
        self.scanning = scanning
        self.tasks = tasks
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
        CfnOutput(
            self,
            "InboundMxRecord",
            value=inbound.mx_value,
            description=f"MX record value to publish for {inbound.reports_domain} (SES inbound endpoint)",
        )
        CfnOutput(
            self,
            "RawBucketName",
            value=inbound.raw_bucket.bucket_name,
            description="S3 bucket of raw mail (inbound/raw/), API uploads (inbound/api/) and payloads",
        )
        CfnOutput(
            self,
            "IngestQueueUrl",
            value=inbound.ingest_queue.queue_url,
            description="SQS queue of new raw mail for the parser (DLQ after 5 receives)",
        )
        CfnOutput(
            self,
            "ExportsBucketName",
            value=tasks.exports_bucket.bucket_name,
            description="S3 bucket of export files (exports/, expired after 7 days)",
        )
        CfnOutput(
            self,
            "ScanQueueUrl",
            value=scanning.scan_queue.queue_url,
            description="SQS queue of domain scan requests for the scanner (DLQ after 5 receives)",
        )
