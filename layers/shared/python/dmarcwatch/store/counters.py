"""Windowed counters with TTL: rate limits and usage figures.

pk=RATE#<subject> sk=<window>; each item expires with its window, so the table never accumulates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.store.db import is_conditional_failure, key, table


def reports_counter_subject(account_id: str, environment: str) -> str:
    """The counter the report pipeline increments per stored report (read by the account summary)."""
    return f"reports:{account_id}:{environment}"


def scan_budget_subject(account_id: str, environment: str) -> str:
    """The counter of the scans a tenant asked for (its hourly scan budget, `scanning.queueing`)."""
    return f"scans:{account_id}:{environment}"


def month_window(now: datetime) -> str:
    return f"MONTH#{now:%Y-%m}"


def hour_window(now: datetime) -> str:
    return f"HOUR#{now.astimezone(UTC):%Y-%m-%dT%H}"


@dataclass(frozen=True)
class Counted:
    # How many of the amount asked for were counted: all of it, or what was left under the limit.
    added: int
    # The counter's value after the call.
    hits: int


def increment(
    subject: str, window: str, *, expires_at_epoch: int, limit: int | None, amount: int = 1
) -> Counted | None:
    """Add `amount` to the counter, or as much of it as `limit` leaves room for; None when the counter
    already reached `limit` (nothing was added).

    The conditional write keeps refused calls out of the count, so a client hammering past its quota
    does not push "used" beyond the limit. A partial grant reads the counter to size itself; a concurrent
    caller can change the room between the read and the write, so that is tried three times.
    """
    if amount < 1:
        raise ValueError(f"amount must be positive, not {amount}")
    wanted = amount if limit is None else min(amount, limit)
    for _ in range(3):
        if wanted <= 0:
            return None
        kwargs: dict[str, Any] = {
            "Key": key(t.rate_pk(subject), window),
            "UpdateExpression": "ADD hits :n SET #ttl = if_not_exists(#ttl, :exp)",
            "ExpressionAttributeNames": {"#ttl": t.TABLE.ttl_attribute},
            "ExpressionAttributeValues": {":n": wanted, ":exp": expires_at_epoch},
            "ReturnValues": "UPDATED_NEW",
        }
        if limit is not None:
            kwargs["ConditionExpression"] = "attribute_not_exists(hits) OR hits <= :room"
            kwargs["ExpressionAttributeValues"][":room"] = limit - wanted
        try:
            response = table().update_item(**kwargs)
        except ClientError as error:
            if not is_conditional_failure(error):
                raise
            if limit is None or wanted == 1:
                return None  # the counter is at the limit: no room to look for
            wanted = min(amount, limit - read(subject, window, consistent=True))
            continue
        return Counted(wanted, int(response["Attributes"]["hits"]))
    return None


def read(subject: str, window: str, *, consistent: bool = False) -> int:
    item = table().get_item(Key=key(t.rate_pk(subject), window), ConsistentRead=consistent).get("Item")
    return int(item["hits"]) if item else 0
