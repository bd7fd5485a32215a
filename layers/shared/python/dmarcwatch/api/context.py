"""Per-request context: request id, client address and the authenticated principal."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request


def aws_event(request: Request) -> dict[str, Any] | None:
    """The API Gateway event when running under Mangum in Lambda, else None."""
    event = request.scope.get("aws.event")
    return event if isinstance(event, dict) else None


def request_id_of(request: Request) -> str:
    existing = getattr(request.state, "request_id", None)
    if isinstance(existing, str):
        return existing
    event = aws_event(request)
    request_id = str((event or {}).get("requestContext", {}).get("requestId") or uuid.uuid4())
    request.state.request_id = request_id
    return request_id


def client_ip(request: Request) -> str:
    event = aws_event(request)
    if event is not None:
        source = event.get("requestContext", {}).get("identity", {}).get("sourceIp")
        if source:
            return str(source)
    return request.client.host if request.client else "unknown"


def public_base_url(request: Request, prefix: str) -> str:
    """The URL clients use to reach the API root (with the `v1` stage in API Gateway)."""
    event = aws_event(request)
    if event is not None:
        host = request.headers.get("host", "")
        stage = event.get("requestContext", {}).get("stage", "v1")
        return f"https://{host}/{stage}"
    return str(request.base_url).rstrip("/") + prefix
