"""Quarantined inputs of the caller's environment, and reprocessing them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Limit, QuarantineId
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.report_schemas import QuarantineOut, ReprocessOut, UploadOut
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.services import reports

router = APIRouter(tags=["quarantine"], route_class=DocumentedRoute)


@router.get(
    "/quarantine",
    summary="Reports that could not be taken, with the reason",
    response_model=ListEnvelope[QuarantineOut],
)
def list_quarantine(
    request: Request, principal: CurrentPrincipal, limit: Limit = 25, cursor: Cursor = None
) -> dict[str, Any]:
    tenant = principal.tenant
    query: dict[str, Any] = {}
    after = decode_cursor(tenant, query, cursor) if cursor else None
    entries, position = reports.list_quarantine(tenant, limit, after)
    return list_response(
        request, tenant, [QuarantineOut.of(e) for e in entries], limit=limit, query=query, position=position
    )


@router.post(
    "/quarantine/{quarantine_id}/reprocess",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a quarantined input to run through the pipeline again",
    description="Answers 202 at once; `job.status_url` (`GET /v1/uploads/{id}`) says how it ended. The "
    "entry is marked resolved when its report is stored.",
    response_model=Envelope[ReprocessOut],
    responses=error_responses(409),  # a mail with a virus verdict is never reprocessed
)
def reprocess(request: Request, quarantine_id: QuarantineId, principal: CurrentPrincipal) -> dict[str, Any]:
    entry, job = reports.reprocess(principal.tenant, quarantine_id)
    data = ReprocessOut(entry=QuarantineOut.of(entry), job=UploadOut.of(job))
    return data_response(request, data)
