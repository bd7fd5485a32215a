"""Windowed counters with TTL: rate limits and usage figures.

pk=RATE#<subject> sk=<window>; each item expires with its window, so the table never accumulates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.store.db import is_conditional_failure, key, table


def reports_counter_subject(account_id: str, environment: str) -> str:
    """The counter the report pipeline increments per stored report (read by the account summary)."""
    return f"reports:{account_id}:{environment}"


def month_window(now: datetime) -> str:
    return f"MONTH#{now:%Y-%m}"


def increment(subject: str, window: str, *, expires_at_epoch: int, limit: int | None) -> int | None:
    """Add one to the counter unless it already reached `limit`; the new value, or None when refused.

    The conditional write keeps refused calls out of the count, so a client hammering past its quota
    does not push "used" beyond the limit.
    """
    kwargs: dict[str, Any] = {
        "Key": key(t.rate_pk(subject), window),
        "UpdateExpression": "ADD hits :one SET #ttl = if_not_exists(#ttl, :exp)",
        "ExpressionAttributeNames": {"#ttl": t.TABLE.ttl_attribute},
        "ExpressionAttributeValues": {":one": 1, ":exp": expires_at_epoch},
        "ReturnValues": "UPDATED_NEW",
    }
    if limit is not None:
        kwargs["ConditionExpression"] = "attribute_not_exists(hits) OR hits < :limit"
        kwargs["ExpressionAttributeValues"][":limit"] = limit
    try:
        response = table().update_item(**kwargs)
    except ClientError as error:
        if is_conditional_failure(error):
            return None
        raise
    return int(response["Attributes"]["hits"])


def read(subject: str, window: str) -> int:
    item = table().get_item(Key=key(t.rate_pk(subject), window)).get("Item")
    return int(item["hits"]) if item else 0
