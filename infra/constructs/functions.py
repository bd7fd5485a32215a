"""Functions: the two layers, one Lambda per API function group, the TOKEN authorizer Lambda, one Lambda
per worker function (fed by a queue) and one per scheduled function (run by an EventBridge rule).

Every function gets its own role with only what it needs: write to its own log group, X-Ray, reads and
writes on the table partitions its code touches (infra/constructs/access.py), the cursor secret (API
functions), and exactly the `Resource`s its registry entry names (bucket object prefixes, queues).
A queue is consumed by the worker it triggers and sent to by every other function naming it.
No AWS managed policies (no AwsSolutions-IAM4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dmarcwatch.api.registry import FunctionGroup, Resource, ScheduledFunction, WorkerFunction
from dmarcwatch.observability import NAMESPACE, SERVICE
from infra import REPO_ROOT
from infra.constructs.access import (
    AUTHORIZER_TABLE_ACCESS,
    EXPORTS_PREFIX,
    INDEX_ACTIONS,
    TableAccess,
    bucket_access_of,
    table_access_of,
)
from infra.constructs.nag import acknowledge
from infra.constructs.queues import dead_letter_queue
from infra.constructs.storage import Storage

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.handler"
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# The authorizer sits in front of every authenticated request: small, fast, short timeout.
AUTHORIZER_MEMORY_MB = 512
AUTHORIZER_TIMEOUT_SECONDS = 10

# Never shipped to Lambda: bytecode of the build machine's Python, packaging metadata of the editable
# install.
ASSET_EXCLUDES = ["__pycache__", "**/__pycache__", "*.pyc", "**/*.pyc", "*.egg-info", "**/*.egg-info"]
# Dev-only parts of the shared package: the local stack (moto, uvicorn, aiosmtpd) and the operator's CLI
# never run in Lambda, and the layer contract (import-linter) guarantees no other module imports them.
DEV_ONLY_PACKAGE_PATHS = ["python/dmarcwatch/local", "python/dmarcwatch/cli.py"]
# Third-party packages that must never reach a Lambda artifact.
# (httpx is a runtime dependency: whoisit speaks RDAP over it.)
DEV_ONLY_DISTRIBUTIONS = ("moto", "uvicorn", "aiosmtpd", "pytest", "aws_cdk", "cdk_nag")

# Table and raw bucket access per function: infra/constructs/access.py (item reads and writes limited to
# the partitions each function's code touches by dynamodb:LeadingKeys, bucket objects by prefix). No Scan
# (nothing reads across partitions) and no table management for anyone.
RAW_BUCKET_ACTIONS = {
    "read": "s3:GetObject",
    "write": "s3:PutObject",
    "tag": "s3:PutObjectTagging",
    "delete": "s3:DeleteObject",
}

# Reserved concurrency of the workers a queue triggers (a queue missing here: no reservation). The scanner
# (the scan queue's consumer) is capped at 10 concurrent executions by default, the context value
# `scannerConcurrency` (2-50) sets it per deployment: this bounds the DNS query rate towards the resolvers
# (each execution scans its batch concurrently with at most 128 queries in flight, dmarcwatch.dns.stub;
# resolvers rate limit per client, and an unbounded burst after the dispatcher queues thousands of domains
# would turn into timeouts, i.e. failed checks) and the write rate to the table. The queue holds the backlog
# meanwhile. The event source's maximum concurrency is set to the same value, so the poller never invokes
# beyond the reservation: throttled batches would return to the queue, count as receives and could reach
# the DLQ without ever being scanned.
SCAN_QUEUE_CONSUMER_CONCURRENCY = 10
SCANNER_CONCURRENCY_CONTEXT = "scannerConcurrency"
# The WHOIS worker: 2 at a time, so the RDAP lookups of every tenant together stay gentle with registries
# (each server also has a per-minute budget shared through DynamoDB, dmarcwatch.whois.transport).
WHOIS_QUEUE_CONSUMER_CONCURRENCY = 2
RESERVED_CONCURRENCY_BY_TRIGGER: Mapping[Resource, int] = {
    Resource.SCAN_QUEUE: SCAN_QUEUE_CONSUMER_CONCURRENCY,
    Resource.WHOIS_QUEUE: WHOIS_QUEUE_CONSUMER_CONCURRENCY,
}
# Workers that send to the queue that triggers them (a rate-limited WHOIS lookup comes back delayed).
REQUEUEING_TRIGGERS = frozenset({Resource.WHOIS_QUEUE})


def reserved_concurrency(trigger: Resource, scanner_concurrency: object = None) -> int | None:
    """The reservation of the worker `trigger` feeds; `scanner_concurrency` (the context value, if set)
    overrides the scanner's."""
    if trigger is not Resource.SCAN_QUEUE or scanner_concurrency is None:
        return RESERVED_CONCURRENCY_BY_TRIGGER.get(trigger)
    concurrency = int(str(scanner_concurrency))
    if not 2 <= concurrency <= 50:  # the event source's maximum concurrency is at least 2
        raise ValueError(f"{SCANNER_CONCURRENCY_CONTEXT} must be 2-50, not {concurrency}")
    return concurrency


# EventBridge -> scheduled function: an event older than one period is superseded by the next run, so it
# is not delivered after that; delivery that still fails (Lambda throttling, a broken permission) lands in
# the schedule DLQ. Function errors are not retried by Lambda either: the next run is the retry, and the
# function's Errors alarm reports the failure.
SCHEDULE_DELIVERY_RETRIES = 2

# X-Ray keeps what a trace records for 30 days, readable by anyone with xray:BatchGetTraces (common in
# read-only roles). Powertools' Tracer records a decorated handler's return value and exception as trace
# metadata unless told otherwise: that would store API responses (the plaintext key of POST /keys, presigned
# URLs, report contents) and the authorizer's policy (the account's gateway key). These settings turn both
# off for every function, whatever a decorator says; the decorators pass the same values explicitly.
TRACER_PRIVACY_ENV = {
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
}

XRAY_REASON = (
    "X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, which do not "
    "support resource-level permissions, so the resource must be '*'."
)


RAW_BUCKET_REASON = (
    "Raw mail (SES names its objects by message id), uploads and payloads get keys generated at runtime, "
    "so the grant is on a key prefix of the raw bucket (<bucket>/<prefix>*): GetObject, PutObject, "
    "PutObjectTagging or DeleteObject each only on the prefixes the function's code uses "
    "(infra/constructs/access.py), no listing or bucket settings, and only for functions whose registry "
    "entry names Resource.RAW_BUCKET."
)


# SnapStart for the API functions (docs/architecture.md, Decisions): Lambda initialises a published version
# once, snapshots it, and starts new environments from the snapshot; API Gateway invokes the alias that
# follows the latest version. The hooks in dmarcwatch.api.lambda_entry fill the snapshot and renew what
# each restored environment must own. Old versions are deleted with their snapshots (no caching charge for
# versions nothing invokes).
API_SNAP_START = lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS
API_ALIAS = "live"


@dataclass(frozen=True)
class DeploymentNames:
    """What a function's environment names that differs per deployment: CDK tokens in the stack, example
    values in bench/cold_start.py (which starts each handler in its deployed environment)."""

    table_name: str
    stage: str
    reports_domain: str
    region: str
    cursor_secret_arn: str
    raw_bucket: str
    queue_urls: Mapping[Resource, str]
    exports_bucket: str | None = None


def function_environment(
    names: DeploymentNames, resources: frozenset[Resource], *, api: bool
) -> dict[str, str]:
    """A function's environment: the common settings, the cursor secret (API functions only) and the
    settings naming the resources its registry entry names (`DMARCWATCH_*`), and no others."""
    environment = {
        "DMARCWATCH_TABLE_NAME": names.table_name,
        "DMARCWATCH_STAGE": names.stage,
        "DMARCWATCH_REPORTS_DOMAIN": names.reports_domain,
        # Settings.region defaults to us-east-1 for the local stack; in AWS it is the stack's region.
        "DMARCWATCH_REGION": names.region,
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
        "LOG_LEVEL": "INFO",
        # No pydantic plugins are deployed; without this, the first model built scans every installed
        # distribution's entry points for some (a cold-start cost of every function).
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        **TRACER_PRIVACY_ENV,
    }
    if api:
        environment["DMARCWATCH_CURSOR_SECRET_ARN"] = names.cursor_secret_arn
    if Resource.RAW_BUCKET in resources:
        environment["DMARCWATCH_RAW_BUCKET"] = names.raw_bucket
    if Resource.EXPORTS_BUCKET in resources and names.exports_bucket is not None:
        environment["DMARCWATCH_EXPORTS_BUCKET"] = names.exports_bucket
    for resource in sorted(resources & names.queue_urls.keys()):
        environment[queue_url_setting(resource)] = names.queue_urls[resource]
    return environment


EXPORTS_BUCKET_REASON = (
    "Export files get keys generated at runtime (one per export id), so the grant is on the exports/ "
    "prefix of the exports bucket: object reads, writes, deletes and multipart aborts, no listing, and "
    "only for functions whose registry entry names Resource.EXPORTS_BUCKET."
)


# Context value `geoipDir`: a directory of MaxMind-format files (a name holding "ASN", one holding "City",
# ending in .mmdb; docs/geo.md). It becomes a layer, extracted under /opt, of the functions that look
# addresses up (GEOIP_FUNCTIONS), whose settings then name the files. Without it the fields are null.
GEOIP_DIR_CONTEXT = "geoipDir"
GEOIP_FUNCTIONS = frozenset({"domains", "reports", "exports", "scanner", "exporter"})


def geoip_environment(directory: Path) -> dict[str, str]:
    """The settings naming the files of a `geoipDir` as the layer puts them (/opt/<name>)."""
    if not directory.is_dir():
        raise ValueError(f"{GEOIP_DIR_CONTEXT} {directory} is not a directory")
    names = sorted(p.name for p in directory.iterdir() if p.suffix == ".mmdb")
    asn = [n for n in names if "asn" in n.lower()]
    city = [n for n in names if "city" in n.lower()]
    if len(asn) > 1 or len(city) > 1 or not (asn or city):
        raise ValueError(
            f"{GEOIP_DIR_CONTEXT} {directory} must hold one *ASN*.mmdb and/or one *City*.mmdb, found {names}"
        )
    environment = {}
    if asn:
        environment["DMARCWATCH_GEOIP_ASN_FILE"] = f"/opt/{asn[0]}"
    if city:
        environment["DMARCWATCH_GEOIP_CITY_FILE"] = f"/opt/{city[0]}"
    return environment


class DepsLayerMissingError(RuntimeError):
    pass


class Functions(Construct):
    """Layers and Lambda functions; `api_functions` is keyed by FunctionGroup.name, `worker_functions` by
    WorkerFunction.name, `scheduled_functions` (and `schedules`, their rules) by ScheduledFunction.name.
    `api_aliases` (by FunctionGroup.name) are what API Gateway invokes: the SnapStart-published versions.

    `queues` maps each queue `Resource` to its queue; a function naming it gets its URL as
    `DMARCWATCH_<RESOURCE>_URL` (queue_url_setting()).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        groups: Sequence[FunctionGroup],
        stage: str,
        reports_domain: str,
        deps_layer_dir: Path,
        raw_bucket: s3.IBucket,
        queues: Mapping[Resource, sqs.IQueue],
        exports_bucket: s3.IBucket | None = None,
        workers: Sequence[WorkerFunction] = (),
        scheduled: Sequence[ScheduledFunction] = (),
        functions_dir: Path = REPO_ROOT / "functions",
        shared_layer_dir: Path = REPO_ROOT / "layers" / "shared",
    ) -> None:
        super().__init__(scope, construct_id)
        check_deps_layer(deps_layer_dir)
        self._storage = storage
        self._raw_bucket = raw_bucket
        self._exports_bucket = exports_bucket
        self._queues = dict(queues)

        self.shared_layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(
                str(shared_layer_dir), exclude=[*ASSET_EXCLUDES, *DEV_ONLY_PACKAGE_PATHS]
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="dmarcwatch shared package (python/dmarcwatch)",
        )
        self.deps_layer = lambda_.LayerVersion(
            self,
            "DepsLayer",
            code=lambda_.Code.from_asset(str(deps_layer_dir), exclude=ASSET_EXCLUDES),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="dmarcwatch third-party dependencies ([project.dependencies] of pyproject.toml)",
        )

        geoip_dir = self.node.try_get_context(GEOIP_DIR_CONTEXT)
        self.geoip_layer: lambda_.LayerVersion | None = None
        self._geoip_environment: dict[str, str] = {}
        if geoip_dir:
            self._geoip_environment = geoip_environment(Path(str(geoip_dir)))
            self.geoip_layer = lambda_.LayerVersion(
                self,
                "GeoipLayer",
                code=lambda_.Code.from_asset(str(geoip_dir), exclude=ASSET_EXCLUDES),
                compatible_architectures=[ARCHITECTURE],
                description="MaxMind-format ASN/city files supplied by the operator (context geoipDir)",
            )

        self._names = DeploymentNames(
            table_name=storage.table.table_name,
            stage=stage,
            reports_domain=reports_domain,
            region=Aws.REGION,
            cursor_secret_arn=storage.cursor_secret.secret_arn,
            raw_bucket=raw_bucket.bucket_name,
            queue_urls={resource: queue.queue_url for resource, queue in self._queues.items()},
            exports_bucket=exports_bucket.bucket_name if exports_bucket is not None else None,
        )

        self.api_functions: dict[str, lambda_.Function] = {}
        self.api_aliases: dict[str, lambda_.Alias] = {}
        for group in groups:
            function = self._function(
                f"Api{_camel(group.name)}",
                code_dir=_code_dir(functions_dir, group.function_dir),
                description=f"dmarcwatch API: {group.description}",
                memory_mb=group.memory_mb,
                timeout_seconds=group.timeout_seconds,
                environment=function_environment(self._names, group.resources, api=True),
                snap_start=True,
                geoip=group.name in GEOIP_FUNCTIONS,
            )
            self._grant_table(function, table_access_of(group))
            storage.cursor_secret.grant_read(function)
            self._grant_resources(function, group.name, group.resources)
            self.api_functions[group.name] = function
            self.api_aliases[group.name] = lambda_.Alias(
                self, f"Api{_camel(group.name)}Alias", alias_name=API_ALIAS, version=function.current_version
            )

        self.authorizer = self._function(
            "Authorizer",
            code_dir=_code_dir(functions_dir, "authorizer"),
            description="dmarcwatch API: TOKEN authorizer (API key -> tenant context, usage plan key)",
            memory_mb=AUTHORIZER_MEMORY_MB,
            timeout_seconds=AUTHORIZER_TIMEOUT_SECONDS,
            environment=function_environment(self._names, frozenset(), api=False),
        )
        self._grant_table(self.authorizer, AUTHORIZER_TABLE_ACCESS)

        self.worker_functions: dict[str, lambda_.Function] = {}
        for worker in workers:
            # Without an entry in RESERVED_CONCURRENCY_BY_TRIGGER (the ingest queue) reserved concurrency
            # stays unset: the queue absorbs bursts (a mail is processed when a function is free), the table
            # is on demand, and reserving would take concurrency away from the API in accounts with the
            # default limit.
            concurrency = reserved_concurrency(
                worker.trigger, self.node.try_get_context(SCANNER_CONCURRENCY_CONTEXT)
            )
            function = self._function(
                f"Worker{_camel(worker.name)}",
                code_dir=_code_dir(functions_dir, worker.function_dir),
                description=f"dmarcwatch worker: {worker.description}",
                memory_mb=worker.memory_mb,
                timeout_seconds=worker.timeout_seconds,
                environment=function_environment(self._names, worker.resources, api=False),
                reserved_concurrency=concurrency,
                geoip=worker.name in GEOIP_FUNCTIONS,
            )
            self._grant_table(function, table_access_of(worker))
            self._grant_resources(function, worker.name, worker.resources, consumes=worker.trigger)
            function.add_event_source(
                event_sources.SqsEventSource(
                    self._trigger_queue(worker),
                    batch_size=worker.batch_size,
                    # The handler answers {"batchItemFailures": [...]}: only failed messages are retried.
                    report_batch_item_failures=True,
                    max_concurrency=concurrency,
                )
            )
            self.worker_functions[worker.name] = function

        self.scheduled_functions: dict[str, lambda_.Function] = {}
        self.schedules: dict[str, events.Rule] = {}
        self.schedule_dead_letter_queue: sqs.Queue | None = None
        if scheduled:
            # Events EventBridge could not deliver to a scheduled function (one queue for all of them).
            self.schedule_dead_letter_queue = dead_letter_queue(self, "ScheduleDeadLetterQueue")
            acknowledge(
                self.schedule_dead_letter_queue,
                "AwsSolutions-SQS3",
                "This queue is itself a dead-letter queue: the DeadLetterConfig of the scheduled functions' "
                "EventBridge targets (cdk-nag only recognises DLQs named in another queue's redrive policy). "
                "Its messages are undeliverable schedule events; an alarm reports any.",
            )
        for job in scheduled:
            function = self._function(
                f"Scheduled{_camel(job.name)}",
                code_dir=_code_dir(functions_dir, job.function_dir),
                description=f"dmarcwatch scheduled: {job.description}",
                memory_mb=job.memory_mb,
                timeout_seconds=job.timeout_seconds,
                environment=function_environment(self._names, job.resources, api=False),
            )
            self._grant_table(function, table_access_of(job))
            self._grant_resources(function, job.name, job.resources)
            period = Duration.minutes(job.rate_minutes)
            function.configure_async_invoke(retry_attempts=0, max_event_age=period)
            rule = events.Rule(
                self,
                f"Scheduled{_camel(job.name)}Schedule",
                description=f"dmarcwatch: runs {job.name} every {job.rate_minutes} minutes",
                schedule=events.Schedule.rate(period),
            )
            rule.add_target(
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=self.schedule_dead_letter_queue,
                    retry_attempts=SCHEDULE_DELIVERY_RETRIES,
                    max_event_age=period,
                )
            )
            self.scheduled_functions[job.name] = function
            self.schedules[job.name] = rule

        acknowledge(
            self,
            "AwsSolutions-L1",
            "The runtime is pinned to Python 3.12 by the design: the dependency layer is built for cp312 "
            "manylinux aarch64 wheels (infra/build_deps_layer.py). Moving to a newer runtime is a deliberate "
            "change of RUNTIME and the layer build together.",
        )

    @property
    def all_functions(self) -> list[lambda_.Function]:
        return [
            *self.api_functions.values(),
            self.authorizer,
            *self.worker_functions.values(),
            *self.scheduled_functions.values(),
        ]

    def _grant_resources(
        self,
        function: lambda_.Function,
        name: str,
        resources: frozenset[Resource],
        *,
        consumes: Resource | None = None,
    ) -> None:
        """Grant `resources`; `consumes` is the queue that triggers the function (consume, not send)."""
        for resource in sorted(resources):
            if resource is Resource.RAW_BUCKET:
                self._grant_raw_bucket(function, name, resources)
            elif resource is Resource.EXPORTS_BUCKET and self._exports_bucket is not None:
                self._grant_exports_bucket(function)
            elif resource in self._queues and resource is consumes:
                # Receive, delete, change visibility, read attributes of this queue only.
                self._queues[resource].grant_consume_messages(function)
                if resource in REQUEUEING_TRIGGERS:
                    self._queues[resource].grant_send_messages(function)
            elif resource in self._queues:
                # SendMessage (which also covers SendMessageBatch), GetQueueUrl, GetQueueAttributes.
                self._queues[resource].grant_send_messages(function)
            else:  # pragma: no cover - a new Resource needs its grant here
                raise NotImplementedError(f"no grant for resource {resource}")

    def _grant_raw_bucket(
        self, function: lambda_.Function, name: str, resources: frozenset[Resource]
    ) -> None:
        access = bucket_access_of(name, resources)
        assert access is not None
        kinds = (
            ("read", access.read),
            ("write", access.write),
            ("tag", access.tag),
            ("delete", access.delete),
        )
        for kind, prefixes in kinds:
            if prefixes:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=[RAW_BUCKET_ACTIONS[kind]],
                        resources=[self._raw_bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
                    )
                )
        for prefix in access.prefixes:
            acknowledge(
                function.role,  # type: ignore[arg-type]
                f"AwsSolutions-IAM5[Resource::<{_logical_id_of(self._raw_bucket)}.Arn>/{prefix}*]",
                RAW_BUCKET_REASON,
            )

    def _grant_exports_bucket(self, function: lambda_.Function) -> None:
        """Objects under exports/ only: write (multipart uploads included), read (presigned downloads are
        signed with the API function's role), delete and abort; no listing."""
        assert self._exports_bucket is not None
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                resources=[self._exports_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")],
            )
        )
        acknowledge(
            function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::<{_logical_id_of(self._exports_bucket)}.Arn>/{EXPORTS_PREFIX}*]",
            EXPORTS_BUCKET_REASON,
        )

    def _trigger_queue(self, worker: WorkerFunction) -> sqs.IQueue:
        queue = self._queues.get(worker.trigger)
        if queue is None:
            raise ValueError(f"worker {worker.name}: no queue for trigger {worker.trigger}")
        if worker.trigger not in worker.resources:
            raise ValueError(f"worker {worker.name} is triggered by {worker.trigger} but lacks its grant")
        return queue

    def _function(
        self,
        construct_id: str,
        *,
        code_dir: Path,
        description: str,
        memory_mb: int,
        timeout_seconds: int,
        environment: Mapping[str, str],
        reserved_concurrency: int | None = None,
        snap_start: bool = False,
        geoip: bool = False,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {description}",
        )
        # Explicit log permissions on this function's own log group instead of the
        # AWSLambdaBasicExecutionRole managed policy (which allows every log group in the account).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        function = lambda_.Function(
            self,
            construct_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(code_dir), exclude=ASSET_EXCLUDES),
            layers=[self.shared_layer, self.deps_layer]
            + ([self.geoip_layer] if geoip and self.geoip_layer is not None else []),
            description=description,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            environment={**environment, **(self._geoip_environment if geoip else {})},
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
            reserved_concurrent_executions=reserved_concurrency,
            snap_start=API_SNAP_START if snap_start else None,
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
            if snap_start
            else None,
        )
        if snap_start:
            Annotations.of(function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "Published: its current_version is the version the API alias points at.",
            )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        return function

    def _grant_table(self, function: lambda_.Function, access: TableAccess) -> None:
        """Item reads and writes on the table, each limited to its partition key patterns; Query on the
        named indexes."""
        table_arn = self._storage.table.table_arn
        for actions, patterns in ((access.read_actions, access.read), (access.write_actions, access.write)):
            if patterns:
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        actions=list(actions),
                        resources=[table_arn],
                        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": sorted(patterns)}},
                    )
                )
        if access.indexes:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=list(INDEX_ACTIONS),
                    resources=[self._storage.index_arn(name) for name in sorted(access.indexes)],
                )
            )


def check_deps_layer(deps_layer_dir: Path) -> None:
    """Fail synth early, with the fix, when the dependency layer has not been built."""
    python_dir = deps_layer_dir / "python"
    if not python_dir.is_dir() or not any(python_dir.iterdir()):
        raise DepsLayerMissingError(
            f"The dependency layer is not built: {python_dir} is missing or empty. "
            "Run `make layer` (which runs `python infra/build_deps_layer.py`) before synthesizing."
        )


def _code_dir(functions_dir: Path, name: str) -> Path:
    code_dir = functions_dir / name
    if not (code_dir / "handler.py").is_file():
        raise FileNotFoundError(f"Lambda code missing: {code_dir}/handler.py (exposing `handler`)")
    return code_dir


def queue_url_setting(resource: Resource) -> str:
    """The environment variable holding a queue's URL: `DMARCWATCH_<RESOURCE>_URL`, which Settings reads as
    `<resource>_url` (DMARCWATCH_INGEST_QUEUE_URL, DMARCWATCH_SCAN_QUEUE_URL)."""
    return f"DMARCWATCH_{resource.name}_URL"


def _logical_id_of(bucket: s3.IBucket) -> str:
    """The bucket's logical id as cdk-nag names it in IAM5 findings (`<LogicalId.Arn>/*`)."""
    cfn = bucket.node.default_child
    return str(Stack.of(bucket).resolve(cfn.logical_id))  # type: ignore[union-attr]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
