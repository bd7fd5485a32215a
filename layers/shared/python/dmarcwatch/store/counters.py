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
            "UpdateExpression": "ADD #hits :n SET #ttl = if_not_exists(#ttl, :exp)",
            "ExpressionAttributeNames": {"#hits": "hits", "#ttl": t.TABLE.ttl_attribute},
            "ExpressionAttributeValues": {":n": wanted, ":exp": expires_at_epoch},
            "ReturnValues": "UPDATED_NEW",
        }
        if limit is not None:
            kwargs["ConditionExpression"] = "attribute_not_exists(#hits) OR #hits <= :room"
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


@dataclass(frozen=True)
class RequestTally:
    """One API call counted against a per-minute limit and a per-day quota, or refused by one of them."""

    # "minute" or "day" when the call was refused (and not counted), else None.
    refused_by: str | None
    minute_hits: int
    day_hits: int


def _number(item: dict[str, dict[str, str]], name: str, default: int) -> int:
    """A number attribute of an item in DynamoDB's wire form (as a failed condition returns it)."""
    return int(item.get(name, {}).get("N", default))


def count_request(
    subject: str,
    day_window: str,
    minute: int,
    *,
    per_minute: int,
    per_day: int | None,
    expires_at_epoch: int,
) -> RequestTally:
    """Count a call in the day's item, which also holds the current minute's window and hits: one
    conditional write per call (two at a minute's first call), and a refused call costs one write too.

    The condition keeps refused calls out of both counts. When it fails, DynamoDB returns the item as it
    was (ReturnValuesOnConditionCheckFailure), which says whether the minute, the day or a new minute
    was the reason, without another read.
    """
    names = {
        "#ttl": t.TABLE.ttl_attribute,
        "#minute": "minute_window",
        "#hits": "hits",
        "#mhits": "minute_hits",
    }
    values: dict[str, Any] = {":one": 1, ":minute": minute, ":exp": expires_at_epoch}
    under_quota = ""
    if per_day is not None:
        values[":per_day"] = per_day
        under_quota = " AND (attribute_not_exists(#hits) OR #hits < :per_day)"
    same_minute = {
        "UpdateExpression": "ADD #hits :one, #mhits :one SET #ttl = if_not_exists(#ttl, :exp)",
        "ConditionExpression": "#minute = :minute AND #mhits < :per_minute" + under_quota,
        "ExpressionAttributeValues": {**values, ":per_minute": per_minute},
    }
    new_minute = {
        "UpdateExpression": "SET #minute = :minute, #mhits = :one, #ttl = if_not_exists(#ttl, :exp) "
        "ADD #hits :one",
        "ConditionExpression": "(attribute_not_exists(#minute) OR #minute < :minute)" + under_quota,
        "ExpressionAttributeValues": values,
    }
    attempt = same_minute
    for _ in range(3):
        try:
            response = table().update_item(
                Key=key(t.rate_pk(subject), day_window),
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **attempt,
            )
        except ClientError as error:
            if not is_conditional_failure(error):
                raise
            old: dict[str, dict[str, str]] = error.response.get("Item") or {}  # type: ignore[assignment]
            this_minute = _number(old, "minute_window", -1) == minute
            minute_hits = _number(old, "minute_hits", 0) if this_minute else 0
            day_hits = _number(old, "hits", 0)
            if this_minute and minute_hits >= per_minute:
                return RequestTally("minute", minute_hits, day_hits)
            if per_day is not None and day_hits >= per_day:
                return RequestTally("day", minute_hits, day_hits)
            # A new minute, or another call started this one first: try the other form.
            attempt = same_minute if this_minute else new_minute
            continue
        item = response["Attributes"]
        return RequestTally(None, int(item["minute_hits"]), int(item["hits"]))
    raise RuntimeError(f"could not count a call for {subject}: the counter kept changing")


def read(subject: str, window: str, *, consistent: bool = False) -> int:
    item = table().get_item(Key=key(t.rate_pk(subject), window), ConsistentRead=consistent).get("Item")
    return int(item["hits"]) if item else 0
