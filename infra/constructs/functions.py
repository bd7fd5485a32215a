"""Functions: the two layers, one Lambda per API function group, and the TOKEN authorizer Lambda.

Every function gets its own role with only what it needs: write to its own log group, X-Ray, and its
table (and secret) permissions. No AWS managed policies (no AwsSolutions-IAM4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from dmarcwatch.api.registry import FunctionGroup
from dmarcwatch.observability import NAMESPACE, SERVICE
from infra import REPO_ROOT
from infra.constructs.nag import acknowledge
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

# The API functions' table access: item reads/writes, batch and transactional writes, queries on the table
# and its indexes. No Scan (tenant isolation is by partition key; nothing reads across partitions) and no
# table management.
API_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
# The authorizer reads the key and the account and updates last-used and the rate counters.
AUTHORIZER_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"]

XRAY_REASON = (
    "X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, which do not "
    "support resource-level permissions, so the resource must be '*'."
)


class DepsLayerMissingError(RuntimeError):
    pass


class Functions(Construct):
    """Layers and Lambda functions; `api_functions` is keyed by FunctionGroup.name."""

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
        functions_dir: Path = REPO_ROOT / "functions",
        shared_layer_dir: Path = REPO_ROOT / "layers" / "shared",
    ) -> None:
        super().__init__(scope, construct_id)
        check_deps_layer(deps_layer_dir)
        self._storage = storage

        self.shared_layer = lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(shared_layer_dir), exclude=ASSET_EXCLUDES),
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

        common_env = {
            "DMARCWATCH_TABLE_NAME": storage.table.table_name,
            "DMARCWATCH_STAGE": stage,
            "DMARCWATCH_REPORTS_DOMAIN": reports_domain,
            # Settings.region defaults to us-east-1 for the local stack; in AWS it is the stack's region.
            "DMARCWATCH_REGION": Aws.REGION,
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
            "LOG_LEVEL": "INFO",
        }

        self.api_functions: dict[str, lambda_.Function] = {}
        for group in groups:
            function = self._function(
                f"Api{_camel(group.name)}",
                code_dir=_code_dir(functions_dir, group.function_dir),
                description=f"dmarcwatch API: {group.description}",
                memory_mb=group.memory_mb,
                timeout_seconds=group.timeout_seconds,
                environment={
                    **common_env,
                    "DMARCWATCH_CURSOR_SECRET_ARN": storage.cursor_secret.secret_arn,
                },
            )
            self._grant_table(function, API_TABLE_ACTIONS, include_indexes=True)
            storage.cursor_secret.grant_read(function)
            self.api_functions[group.name] = function

        self.authorizer = self._function(
            "Authorizer",
            code_dir=_code_dir(functions_dir, "authorizer"),
            description="dmarcwatch API: TOKEN authorizer (API key -> tenant context, usage plan key)",
            memory_mb=AUTHORIZER_MEMORY_MB,
            timeout_seconds=AUTHORIZER_TIMEOUT_SECONDS,
            environment=common_env,
        )
        self._grant_table(self.authorizer, AUTHORIZER_TABLE_ACTIONS, include_indexes=False)

        acknowledge(
            self,
            "AwsSolutions-L1",
            "The runtime is pinned to Python 3.12 by the design: the dependency layer is built for cp312 "
            "manylinux aarch64 wheels (infra/build_deps_layer.py). Moving to a newer runtime is a deliberate "
            "change of RUNTIME and the layer build together.",
        )

    @property
    def all_functions(self) -> list[lambda_.Function]:
        return [*self.api_functions.values(), self.authorizer]

    def _function(
        self,
        construct_id: str,
        *,
        code_dir: Path,
        description: str,
        memory_mb: int,
        timeout_seconds: int,
        environment: Mapping[str, str],
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
            layers=[self.shared_layer, self.deps_layer],
            description=description,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
            environment=dict(environment),
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
        )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        return function

    def _grant_table(self, function: lambda_.Function, actions: list[str], *, include_indexes: bool) -> None:
        resources = [self._storage.table.table_arn]
        if include_indexes:
            resources += self._storage.index_arns()
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))


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


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
