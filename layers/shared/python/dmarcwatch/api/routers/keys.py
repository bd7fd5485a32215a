"""GET/POST /keys and DELETE /keys/{id}: the caller's environment's API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from dmarcwatch.api.context import request_id_of
from dmarcwatch.api.deps import CurrentPrincipal
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.schemas import Envelope, KeyCreate, KeyCreated, KeyOut, ListEnvelope
from dmarcwatch.models import ApiKey, utcnow
from dmarcwatch.services import keys

router = APIRouter(tags=["keys"])


def _status(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    return "active" if key.is_active(utcnow()) else "expired"


@router.get(
    "/keys",
    summary="List the API keys of the caller's environment (never the secrets)",
    response_model=ListEnvelope[KeyOut],
)
def list_keys(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    items = [KeyOut.of(k, _status(k)).model_dump() for k in keys.list_keys(principal.tenant)]
    return {"data": items, "meta": {"request_id": request_id_of(request), "total_count": len(items)}}


@router.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create a key; the secret is shown once",
    response_model=Envelope[KeyCreated],
)
def create_key(request: Request, body: KeyCreate, principal: CurrentPrincipal) -> dict[str, Any]:
    issued = keys.create_key(principal.tenant, principal.plan, body.name, body.expires_in_days)
    out = KeyCreated(**KeyOut.of(issued.key, "active").model_dump(), key=issued.secret)
    return data_response(request, out.model_dump())


@router.delete(
    "/keys/{key_id}", summary="Revoke a key; it stops working at once", response_model=Envelope[KeyOut]
)
def revoke_key(request: Request, key_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    revoked = keys.revoke_key(principal.tenant, key_id)
    return data_response(request, KeyOut.of(revoked, "revoked").model_dump())
