"""WHOIS of a domain (RDAP): the stored registration data, and a queued refresh."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal, DomainRef
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.schemas import Envelope
from dmarcwatch.services import whois as whois_service
from dmarcwatch.services.whois import WhoisRefresh, WhoisView

router = APIRouter(tags=["whois"], route_class=DocumentedRoute)


@router.get(
    "/domains/{domain_id}/whois",
    summary="Registration data (RDAP): registrar, dates, contacts, privacy, EPP statuses, expiry warnings",
    response_model=Envelope[WhoisView],
)
def whois(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, whois_service.whois(principal.tenant, domain_id).model_dump())


@router.post(
    "/domains/{domain_id}/refresh_whois",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue an RDAP lookup (at most one per domain every 10 minutes)",
    response_model=Envelope[WhoisRefresh],
)
def refresh_whois(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, whois_service.refresh(principal.tenant, domain_id).model_dump())
