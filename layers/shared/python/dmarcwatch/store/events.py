"""The event log: each tenant's events, kept 30 days, written in the same transaction as their cause."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from dmarcwatch import table as t
from dmarcwatch.events import Event
from dmarcwatch.store.db import bounded_page, key, query_pages, table, ts

RETENTION = timedelta(days=30)


def event_item(event: Event) -> dict[str, Any]:
    pk = f"{t.tenant_pk(event.account_id, event.environment)}#EVENTS"
    return {
        **key(pk, f"{ts(event.created_at)}#{event.id}"),
        "type": "event",
        "event_type": event.payload.type.value,
        "body": event.model_dump_json(),
        t.TABLE.ttl_attribute: int((event.created_at + RETENTION).timestamp()),
    }


def recent_events(account_id: str, environment: str, limit: int = 50) -> list[Event]:
    response = table().query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": f"{t.tenant_pk(account_id, environment)}#EVENTS"},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [Event.model_validate(json.loads(item["body"])) for item in response["Items"]]


def events_since(
    account_id: str, environment: str, event_type: str, since: datetime, *, limit: int
) -> list[Event]:
    """Up to `limit` events of one type at or after `since`, newest first (reads pages of the log until
    enough are found or the window is read)."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND sk >= :since",
        "FilterExpression": "event_type = :type",
        "ExpressionAttributeValues": {
            ":pk": f"{t.tenant_pk(account_id, environment)}#EVENTS",
            ":since": str(ts(since)),
            ":type": event_type,
        },
        "ScanIndexForward": False,
    }
    found: list[Event] = []
    for page in query_pages(query):
        found += [Event.model_validate(json.loads(item["body"])) for item in page["Items"]]
        if len(found) >= limit:
            break
    return found[:limit]


def list_events(
    account_id: str, environment: str, *, limit: int, before: str | None, event_type: str | None
) -> tuple[list[Event], str | None]:
    """Newest first; `before` is the sort key of the last event returned before, and so is the cursor (a
    type filter that matches little answers a short page after a few reads: `db.bounded_page`)."""
    pk = f"{t.tenant_pk(account_id, environment)}#EVENTS"
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": pk},
        "ScanIndexForward": False,
        "Limit": max(limit, 25),
    }
    if event_type:
        query["FilterExpression"] = "event_type = :type"
        query["ExpressionAttributeValues"][":type"] = event_type
    return bounded_page(
        query,
        start_key=key(pk, before) if before else None,
        limit=limit,
        convert=lambda item: Event.model_validate(json.loads(item["body"])),
        cursor_attribute="sk",
    )


def put_event(event: Event) -> None:
    table().put_item(Item=event_item(event))
