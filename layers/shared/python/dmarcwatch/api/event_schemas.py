"""Response models of the event log endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dmarcwatch.events import Event
from dmarcwatch.models import iso


class EventOut(BaseModel):
    id: str = Field(description="evt_…; a webhook delivery's `webhook-id`")
    type: str
    created_at: str | None
    data: dict[str, Any] = Field(description="The payload; its schema per type is at GET /events/types")

    @classmethod
    def of(cls, event: Event, data: dict[str, Any]) -> EventOut:
        return cls(id=event.id, type=event.payload.type.value, created_at=iso(event.created_at), data=data)


class EventTypeOut(BaseModel):
    type: str
    description: str | None
    schema_: dict[str, Any] = Field(alias="schema", description="JSON Schema of the event's `data`")

    model_config = {"populate_by_name": True, "serialize_by_alias": True}
