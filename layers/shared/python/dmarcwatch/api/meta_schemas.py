"""Response models of the meta endpoints (health, API index)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dmarcwatch.models import KeyScope


class HealthOut(BaseModel):
    status: str
    version: str
    timestamp: str = Field(description="The server's time (UTC, ISO 8601)")


class CallerOut(BaseModel):
    account_id: str
    environment: str
    key_id: str
    scope: KeyScope
    plan: str


class EndpointOut(BaseModel):
    method: str
    path: str
    auth: bool


class IndexOut(BaseModel):
    name: str
    version: str
    caller: CallerOut
    endpoints: list[EndpointOut]
