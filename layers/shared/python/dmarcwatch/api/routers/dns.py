"""DNS of a domain: scan now, queue a refresh, latest result, the records to publish, change history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Limit
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.schemas import ChangeOut, ListEnvelope
from dmarcwatch.services import dns_views

router = APIRouter(tags=["dns"])


@router.post("/domains/{domain_id}/scan", summary="Scan the domain's DNS now and return the result")
async def scan_now(request: Request, domain_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    data = await run_in_threadpool(dns_views.scan_now, principal.tenant, domain_id)
    return data_response(request, data)


@router.post(
    "/domains/{domain_id}/refresh_dns",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a rescan (the result appears in scan-results and changes)",
)
def refresh_dns(request: Request, domain_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, dns_views.refresh(principal.tenant, domain_id))


@router.get(
    "/domains/{domain_id}/scan-results",
    summary="The latest scan result, with previous values of changed fields",
)
def scan_results(request: Request, domain_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, dns_views.latest(principal.tenant, domain_id))


@router.get(
    "/domains/{domain_id}/dns-records", summary="DMARC, SPF, BIMI and DKIM records: found and recommended"
)
def dns_records(request: Request, domain_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    data = dns_views.dns_records(principal.tenant, principal.account, domain_id)
    return data_response(request, data)


@router.get(
    "/domains/{domain_id}/changes",
    summary="DNS change history, newest first",
    response_model=ListEnvelope[ChangeOut],
)
def changes(
    request: Request, domain_id: str, principal: CurrentPrincipal, limit: Limit = 25, cursor: Cursor = None
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {"domain_id": domain_id}
    before = decode_cursor(tenant, query, cursor) if cursor else None
    rows, position = dns_views.changes(tenant, domain_id, limit, before)
    return list_response(request, tenant, rows, limit=limit, query=query, position=position)
