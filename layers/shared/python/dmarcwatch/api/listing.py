"""Shaping list responses: data, limit, next_cursor and the full `next` URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from dmarcwatch.api.context import public_base_url, request_id_of
from dmarcwatch.api.pagination import encode_cursor
from dmarcwatch.models import Tenant


def data_response(request: Request, data: Any) -> dict[str, Any]:
    """The success envelope of a single object: {"data": ..., "meta": {"request_id": ...}}."""
    return {"data": data, "meta": {"request_id": request_id_of(request)}}


def list_response(
    request: Request,
    tenant: Tenant,
    data: list[Any],
    *,
    limit: int,
    query: dict[str, Any],
    position: str | None,
    total_count: int | None = None,
) -> dict[str, Any]:
    """`query` is what the cursor is bound to (the filters); `position` is where the next page starts."""
    next_cursor = encode_cursor(tenant, query, position) if position else None
    next_url = None
    if next_cursor:
        params = {k: v for k, v in query.items() if v not in (None, "")} | {
            "limit": limit,
            "cursor": next_cursor,
        }
        base = public_base_url(request, request.app.state.prefix)
        path = request.url.path.removeprefix(request.app.state.prefix)
        next_url = f"{base}{path}?{urlencode(params)}"
    return {
        "data": data,
        "meta": {
            "request_id": request_id_of(request),
            "limit": limit,
            "next_cursor": next_cursor,
            "next": next_url,
            "total_count": total_count,
        },
    }
