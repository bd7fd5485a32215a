"""Table access and the item codec shared by the store modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws
from dmarcwatch.table import TABLE

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def table() -> Any:
    return aws.resource("dynamodb").Table(get_settings().table_name)


def low_level() -> Any:
    return aws.client("dynamodb")


def to_wire(item: dict[str, Any]) -> dict[str, Any]:
    """Plain Python -> DynamoDB JSON, for the low-level client (transactions)."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def from_wire(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def parse_ts(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def key(pk: str, sk: str) -> dict[str, str]:
    return {TABLE.partition_key: pk, TABLE.sort_key: sk}


def is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_reasons(error: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine)."""
    reasons = error.response.get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]


def is_cancelled(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def transact(items: list[dict[str, Any]]) -> bool:
    """Write the items in one transaction; False when a condition cancelled it (nothing was written)."""
    try:
        low_level().transact_write_items(TransactItems=items)
    except ClientError as error:
        if is_cancelled(error):
            return False
        raise
    return True


def create_table() -> None:
    """Create the table (local stack and tests) from the one schema definition."""
    settings = get_settings()
    ddb = low_level()
    ddb.create_table(**TABLE.create_table_kwargs(settings.table_name))
    ddb.get_waiter("table_exists").wait(TableName=settings.table_name)
    ddb.update_time_to_live(
        TableName=settings.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TABLE.ttl_attribute},
    )
