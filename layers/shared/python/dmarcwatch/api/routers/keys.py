"""GET/POST /keys, PATCH/DELETE /keys/{id} and POST /keys/{id}/rotate: the caller's environment's API keys
(admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from dmarcwatch.api.account_schemas import (
    KeyCreate,
    KeyCreated,
    KeyOut,
    KeyRevokedOut,
    KeyRotate,
    KeyRotated,
    KeyUpdate,
)
from dmarcwatch.api.context import request_id_of
from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import AdminPrincipal, KeyId
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.models import utcnow
from dmarcwatch.services import keys

router = APIRouter(tags=["keys"], route_class=DocumentedRoute)


@router.get(
    "/keys",
    summary="List the API keys of the caller's environment (never the secrets)",
    response_model=ListEnvelope[KeyOut],
)
def list_keys(request: Request, principal: AdminPrincipal) -> dict[str, Any]:
    now = utcnow()
    items = [KeyOut.of(k, now) for k in keys.list_keys(principal.tenant)]
    return {"data": items, "meta": {"request_id": request_id_of(request), "total_count": len(items)}}


@router.post(
    "/keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create a key; the secret is shown once",
    description="At most 3 keys per environment are active at once (409 beyond). Every key expires, "
    "within 365 days. The new key records the calling key as its creator.",
    response_model=Envelope[KeyCreated],
    responses=error_responses(409),
)
def create_key(request: Request, body: KeyCreate, principal: AdminPrincipal) -> dict[str, Any]:
    issued = keys.create_key(
        principal.tenant,
        principal.plan,
        body.name,
        body.expires_in_days,
        scope=body.scope,
        created_by=principal.key,
    )
    out = KeyCreated(**KeyOut.of(issued.key, issued.key.created_at).model_dump(), key=issued.secret)
    return data_response(request, out)


@router.delete(
    "/keys/{key_id}",
    summary="Revoke a key and the keys it created; they stop working at once",
    response_model=Envelope[KeyRevokedOut],
    responses=error_responses(409),
)
def revoke_key(request: Request, key_id: KeyId, principal: AdminPrincipal) -> dict[str, Any]:
    revoked = keys.revoke_key(principal.tenant, key_id)
    out = KeyRevokedOut(
        **KeyOut.of(revoked.key, utcnow()).model_dump(),
        cascaded_key_ids=[k.id for k in revoked.cascaded],
    )
    return data_response(request, out)


@router.patch(
    "/keys/{key_id}",
    summary="Rename a key or move its expiry",
    description="`expires_at` must be later than now and at most 365 days away. Expired or revoked keys "
    "cannot change (404 for revoked, 409 for expired).",
    response_model=Envelope[KeyOut],
    responses=error_responses(409),
)
def update_key(request: Request, key_id: KeyId, body: KeyUpdate, principal: AdminPrincipal) -> dict[str, Any]:
    changed = keys.update_key(principal.tenant, key_id, name=body.name, expires_at=body.expires_at)
    return data_response(request, KeyOut.of(changed, utcnow()))


@router.post(
    "/keys/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    summary="Replace a key's secret; the old one works for a grace period",
    description="The new key has the old one's name and scope and is shown once. The old secret keeps "
    "working for `grace_seconds` (default 3600, 0 to 86,400; 0 revokes it at once), never past its own "
    "expiry.",
    response_model=Envelope[KeyRotated],
    responses=error_responses(409),
)
def rotate_key(request: Request, key_id: KeyId, body: KeyRotate, principal: AdminPrincipal) -> dict[str, Any]:
    rotated = keys.rotate_key(principal.tenant, key_id, body.grace_seconds, body.expires_in_days)
    now = utcnow()
    out = KeyRotated(
        **KeyOut.of(rotated.issued.key, now).model_dump(),
        key=rotated.issued.secret,
        replaced=KeyOut.of(rotated.replaced, now),
    )
    return data_response(request, out)
