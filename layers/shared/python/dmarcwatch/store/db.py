"""Table access and the item codec shared by the store modules."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws
from dmarcwatch.table import TABLE

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# table name -> (the resource it was made from, the Table object).
_tables: dict[str, tuple[Any, Any]] = {}


T = TypeVar("T")


def table() -> Any:
    """One Table object per resource and name: building one costs about a millisecond, and a bulk
    request asks for it thousands of times. A new resource (after `aws.reset()` or a SnapStart restore)
    gets a new one; resources are told apart by identity, since boto3 makes any two of a service equal."""
    resource, name = aws.resource("dynamodb"), get_settings().table_name
    made = _tables.get(name)
    if made is None or made[0] is not resource:
        made = (resource, resource.Table(name))
        _tables[name] = made
    return made[1]


def query_pages(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every page of a Query of the table, read to the end (each response; LastEvaluatedKey followed)."""
    request = dict(query)
    while True:
        response = table().query(**request)
        yield response
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# A filtered list that matches little must not walk a whole partition in one request (review M4): after
# this many reads the page is returned short, with a cursor to go on from.
MAX_PAGES_PER_LIST = 5


def bounded_page(
    query: dict[str, Any],
    *,
    start_key: dict[str, Any] | None,
    limit: int,
    convert: Callable[[dict[str, Any]], T | None],
    cursor_attribute: str,
) -> tuple[list[T], str | None]:
    """Up to `limit` items of a Query (each through `convert`; None leaves an item out), reading at most
    MAX_PAGES_PER_LIST pages from `start_key`; and the cursor to go on from: the `cursor_attribute` of the
    last item returned (or of the last one read, on a short page), None at the end."""
    found: list[T] = []
    request = dict(query)
    for _ in range(MAX_PAGES_PER_LIST):
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = table().query(**request)
        items = response["Items"]
        for position, item in enumerate(items):
            converted = convert(item)
            if converted is None:
                continue
            found.append(converted)
            if len(found) == limit:
                more = position < len(items) - 1 or "LastEvaluatedKey" in response
                return found, (str(item[cursor_attribute]) if more else None)
        start_key = response.get("LastEvaluatedKey")
        if not start_key:
            return found, None
    return found, str(start_key[cursor_attribute]) if start_key else None


def due_page(
    due_pk: str,
    now: datetime,
    limit: int,
    after: str | None,
    table_key: Callable[[str, str, str], dict[str, Any]],
) -> tuple[list[tuple[str, str, str, dict[str, Any]]], str | None]:
    """One page of a sparse gsi2 schedule (`gsi2sk` = `<due time>#<account>#<environment>#<ref>`): the
    entries due by `now` in schedule order after the sort key `after`, as (account, environment, ref,
    item), and the sort key to go on from (None at the end). `table_key(account, environment, ref)` is
    the item's table key, which the index's ExclusiveStartKey needs.

    Paging forward (instead of asking again from the start) keeps a just-leased entry, which the eventually
    consistent index may still list as due for a moment, from being queued twice."""
    query: dict[str, Any] = {
        "IndexName": "gsi2",
        "KeyConditionExpression": "gsi2pk = :pk AND gsi2sk <= :now",
        "ExpressionAttributeValues": {":pk": due_pk, ":now": f"{ts(now)}#~"},
        "Limit": limit,
    }
    if after:
        _, account_id, environment, ref = after.split("#", 3)
        query["ExclusiveStartKey"] = {
            **table_key(account_id, environment, ref),
            "gsi2pk": due_pk,
            "gsi2sk": after,
        }
    response = table().query(**query)
    items = response["Items"]
    found = []
    for item in items:
        _, account_id, environment, ref = str(item["gsi2sk"]).split("#", 3)
        found.append((account_id, environment, ref, item))
    last = str(items[-1]["gsi2sk"]) if items and "LastEvaluatedKey" in response else None
    return found, last


def set_counter_if(item_key: dict[str, Any], attribute: str, stored: int, counted: int) -> bool:
    """Set a counter to `counted` if it still holds `stored` (absent counts as 0): a reconciliation's
    correction that never undoes a write made since it read. False when the counter moved meanwhile."""
    try:
        table().update_item(
            Key=item_key,
            UpdateExpression="SET #c = :counted",
            ConditionExpression="#c = :stored" + (" OR attribute_not_exists(#c)" if stored == 0 else ""),
            ExpressionAttributeNames={"#c": attribute},
            ExpressionAttributeValues={":counted": counted, ":stored": stored},
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def query_items(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a Query of the table returns, page after page."""
    for page in query_pages(query):
        yield from page["Items"]


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


# Codes of a cancelled transaction (or of the call itself) that mean "try again", never "duplicate".
_RETRYABLE = frozenset(
    {
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingError",
        "ThrottlingException",
        "ProvisionedThroughputExceeded",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
    }
)
TRANSACT_ATTEMPTS = 8


class TransactionFailed(Exception):
    """A transaction kept conflicting (or failing for another reason than a condition) after retries."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {', '.join(reasons)}")
        self.reasons = reasons


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.025 * 2**attempt) * (0.5 + random.random()))  # noqa: S311 (jitter, not crypto)


def transact_reasons(items: list[dict[str, Any]]) -> list[str] | None:
    """Write the items in one transaction: None when written, else the per-item cancellation codes of a
    transaction a condition cancelled (nothing was written).

    A cancellation is judged by its reasons (review H4): a conflict with a concurrent write or throttling
    is retried with jittered backoff, and raises `TransactionFailed` if it persists; only
    `ConditionalCheckFailed` means the condition said no ("duplicate", "not found", "cap reached").
    """
    for attempt in range(TRANSACT_ATTEMPTS):
        try:
            low_level().transact_write_items(TransactItems=items)
            return None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reasons = cancellation_reasons(error) if is_cancelled(error) else [code]
            if "ConditionalCheckFailed" in reasons:
                return reasons
            if not any(r in _RETRYABLE for r in reasons):
                if is_cancelled(error):
                    raise TransactionFailed(reasons) from error
                raise
            if attempt == TRANSACT_ATTEMPTS - 1:
                raise TransactionFailed(reasons) from error
            _backoff(attempt)
    raise AssertionError("unreachable")


def transact(items: list[dict[str, Any]]) -> bool:
    """Write the items in one transaction; False only when a condition cancelled it (see
    `transact_reasons`)."""
    return transact_reasons(items) is None


# Concurrent writes of one batch of conditional updates (the low-level client is thread-safe).
WRITERS = 16


def _conditional_update(call: dict[str, Any]) -> bool:
    try:
        low_level().update_item(**call)
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def conditional_updates(calls: list[dict[str, Any]]) -> list[bool]:
    """Run UpdateItem calls (low-level form) in parallel; per call, False when its condition failed. A
    scheduler leases thousands of items per run and must not spend a round trip on each in turn."""
    if len(calls) <= 1:
        return [_conditional_update(call) for call in calls]
    with ThreadPoolExecutor(max_workers=min(WRITERS, len(calls))) as pool:
        return list(pool.map(_conditional_update, calls))


# --- item size ----------------------------------------------------------------------------------------

MAX_ITEM_BYTES = 400 * 1024
# Leave room for the attributes an update adds later (status, counters, record_chunks).
ITEM_BUDGET_BYTES = 350 * 1024


class ItemTooLarge(Exception):
    """An item would exceed DynamoDB's 400 KB limit; callers quarantine instead of failing the write."""

    def __init__(self, what: str, size: int) -> None:
        super().__init__(f"{what} would take {size} bytes, over the {ITEM_BUDGET_BYTES}-byte item budget")
        self.what = what
        self.size = size


def _value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, Binary):  # binary attributes as the resource layer reads them
        return len(bytes(value))  # type: ignore[call-overload]
    if isinstance(value, int | float | Decimal):
        return 21
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(_value_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: dict[str, Any]) -> int:
    """An upper estimate of an item's DynamoDB size (names + values, AWS's sizing rules rounded up)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def check_item_size(item: dict[str, Any], what: str) -> dict[str, Any]:
    """Return the item, or raise `ItemTooLarge` before a write DynamoDB would refuse."""
    size = item_size(item)
    if size > ITEM_BUDGET_BYTES:
        raise ItemTooLarge(what, size)
    return item


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
