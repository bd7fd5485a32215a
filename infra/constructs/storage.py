"""Storage: the single DynamoDB table (built from `dmarcwatch.table.TABLE`) and the cursor signing secret."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dmarcwatch.table import TABLE, TableDef
from infra.constructs.nag import acknowledge


def _string_attribute(name: str) -> dynamodb.Attribute:
    # Every key attribute of the table is a string (TableDef.create_table_kwargs says the same).
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class Storage(Construct):
    """The table and the secrets the functions read."""

    def __init__(self, scope: Construct, construct_id: str, *, table_def: TableDef = TABLE) -> None:
        super().__init__(scope, construct_id)

        self.table_def = table_def
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=_string_attribute(table_def.partition_key),
            sort_key=_string_attribute(table_def.sort_key),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            time_to_live_attribute=table_def.ttl_attribute,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # The table holds every tenant's data: deleting the stack must never delete it.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table_def.indexes:
            self.table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_string_attribute(index.partition_key),
                sort_key=_string_attribute(index.sort_key),
                projection_type=dynamodb.ProjectionType.ALL,
            )

        # HMAC key that signs pagination cursors (tamper-proof, bound to tenant and query).
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            description="dmarcwatch: HMAC key signing API pagination cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(
            self.cursor_secret,
            "AwsSolutions-SMG4",
            "The cursor signing key is a random HMAC key, not a credential for another system; rotating it "
            "only invalidates outstanding pagination cursors. There is no rotation Lambda to schedule; "
            "operators rotate it by hand (docs/deploy.md) if it may have leaked.",
        )

    def index_arn(self, name: str) -> str:
        if name not in {index.name for index in self.table_def.indexes}:
            raise KeyError(f"the table has no index {name!r}")
        return f"{self.table.table_arn}/index/{name}"
