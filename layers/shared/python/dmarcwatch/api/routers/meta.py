"""GET /health (no auth) and GET / (version, caller, endpoint list)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dmarcwatch import __version__
from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.meta_schemas import HealthOut, IndexOut
from dmarcwatch.api.schemas import Envelope
from dmarcwatch.models import iso, utcnow

router = APIRouter(tags=["meta"], route_class=DocumentedRoute)


@router.get(
    "/health", summary="Liveness check", openapi_extra={"x-public": True}, response_model=Envelope[HealthOut]
)
def health(request: Request) -> dict[str, Any]:
    return data_response(request, {"status": "ok", "version": __version__, "timestamp": iso(utcnow())})


@router.get("/", summary="API index: version, caller and endpoints", response_model=Envelope[IndexOut])
def index(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    from dmarcwatch.api.registry import API_PREFIX, route_specs  # the registry imports this module

    endpoints = [
        {
            "method": spec.method,
            "path": API_PREFIX + spec.path.rstrip("/") or API_PREFIX + "/",
            "auth": not spec.public,
        }
        for spec in route_specs()
    ]
    return data_response(
        request,
        {
            "name": "dmarcwatch",
            "version": __version__,
            "caller": {
                "account_id": principal.account.id,
                "environment": principal.key.environment.value,
                "key_id": principal.key.id,
                "scope": principal.key.scope.value,
                "plan": principal.account.plan.value,
            },
            "endpoints": endpoints,
        },
    )
