"""The event log as the API shows it: a page of the tenant's events (kept 30 days) and the catalogue of
event types with the JSON schema of each one's `data`."""

from __future__ import annotations

from typing import Any, get_args

from dmarcwatch.events import Event, EventPayload, EventType
from dmarcwatch.models import Tenant
from dmarcwatch.store import events as store


def list_events(
    tenant: Tenant, *, limit: int, before: str | None, event_type: EventType | None
) -> tuple[list[Event], str | None]:
    return store.list_events(
        tenant.account_id,
        tenant.environment.value,
        limit=limit,
        before=before,
        event_type=event_type.value if event_type else None,
    )


def data_of(event: Event) -> dict[str, Any]:
    """The event's payload without its `type` (which the envelope carries), JSON-ready."""
    return event.payload.model_dump(mode="json", exclude={"type"})


def event_types() -> list[dict[str, Any]]:
    """Every event type, in the catalogue's order, with its description and the schema of its `data`."""
    union = get_args(get_args(EventPayload)[0])
    by_type = {model.model_fields["type"].default: model for model in union}
    catalogue = []
    for event_type in EventType:
        model = by_type[event_type]
        schema = model.model_json_schema()
        schema["properties"].pop("type", None)
        schema["required"] = [name for name in schema.get("required", []) if name != "type"]
        catalogue.append(
            {"type": event_type.value, "description": (model.__doc__ or "").strip() or None, "schema": schema}
        )
    return catalogue
