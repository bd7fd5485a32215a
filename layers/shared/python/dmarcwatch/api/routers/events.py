"""GET /events (the tenant's event log, 30 days, newest first) and GET /events/types (the catalogue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dmarcwatch.api.context import request_id_of
from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Limit
from dmarcwatch.api.event_schemas import EventOut, EventTypeOut
from dmarcwatch.api.listing import list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.schemas import ListEnvelope
from dmarcwatch.events import EventType
from dmarcwatch.services import events

router = APIRouter(tags=["events"], route_class=DocumentedRoute)


@router.get(
    "/events",
    summary="The environment's events of the last 30 days, newest first",
    description="What happened, as webhooks will deliver it: `type`, `created_at` and `data` (the "
    "payload, whose schema per type is at GET /events/types). Filter by `type`; cursor pagination.",
    response_model=ListEnvelope[EventOut],
)
def list_events(
    request: Request,
    principal: CurrentPrincipal,
    type: EventType | None = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {"type": type.value if type else None}
    before = decode_cursor(tenant, query, cursor) if cursor else None
    found, position = events.list_events(tenant, limit=limit, before=before, event_type=type)
    data = [EventOut.of(event, events.data_of(event)) for event in found]
    return list_response(request, tenant, data, limit=limit, query=query, position=position)


@router.get(
    "/events/types",
    summary="Every event type with the JSON schema of its data",
    response_model=ListEnvelope[EventTypeOut],
)
def event_types(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    items = [EventTypeOut.model_validate(entry) for entry in events.event_types()]
    return {"data": items, "meta": {"request_id": request_id_of(request), "total_count": len(items)}}
