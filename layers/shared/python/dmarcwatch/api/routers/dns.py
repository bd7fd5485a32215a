"""DNS of a domain: scan now, queue a refresh, latest result, the records to publish, change history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, DomainRef, Limit
from dmarcwatch.api.dns_schemas import DnsRecordsOut, RefreshOut, ScanOut, ScanResultsOut
from dmarcwatch.api.domain_schemas import ChangeOut
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.services import dns_views

router = APIRouter(tags=["dns"], route_class=DocumentedRoute)


@router.post(
    "/domains/{domain_id}/scan",
    summary="Scan the domain's DNS now and return the result",
    response_model=Envelope[ScanOut],
)
async def scan_now(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    data = await run_in_threadpool(dns_views.scan_now, principal.tenant, domain_id)
    return data_response(request, ScanOut.of(data))


@router.post(
    "/domains/{domain_id}/refresh_dns",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a rescan (the result appears in scan-results and changes)",
    response_model=Envelope[RefreshOut],
)
def refresh_dns(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, RefreshOut.of(dns_views.refresh(principal.tenant, domain_id)))


@router.get(
    "/domains/{domain_id}/scan-results",
    summary="The latest scan result, with previous values of changed fields",
    response_model=Envelope[ScanResultsOut],
)
def scan_results(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, ScanResultsOut.of(dns_views.latest(principal.tenant, domain_id)))


@router.get(
    "/domains/{domain_id}/dns-records",
    summary="DMARC, SPF, BIMI and DKIM records: found and recommended",
    response_model=Envelope[DnsRecordsOut],
)
def dns_records(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    data = dns_views.dns_records(principal.tenant, principal.account, domain_id)
    return data_response(request, DnsRecordsOut.of(data))


@router.get(
    "/domains/{domain_id}/changes",
    summary="DNS change history, newest first",
    response_model=ListEnvelope[ChangeOut],
)
def changes(
    request: Request,
    domain_id: DomainRef,
    principal: CurrentPrincipal,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {"domain_id": domain_id}
    before = decode_cursor(tenant, query, cursor) if cursor else None
    rows, position = dns_views.changes(tenant, domain_id, limit, before)
    return list_response(request, tenant, rows, limit=limit, query=query, position=position)
