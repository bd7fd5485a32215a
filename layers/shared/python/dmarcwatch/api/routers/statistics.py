"""Per-domain daily statistics and per-source breakdowns."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Day, DomainRef, Limit
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.report_schemas import SourceOut, StatsOut
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.services import reports

router = APIRouter(tags=["statistics"], route_class=DocumentedRoute)


@router.get(
    "/domains/{domain_id}/stats",
    summary="Daily DMARC statistics (default: the last 30 days)",
    response_model=Envelope[StatsOut],
)
def domain_stats(
    request: Request,
    domain_id: DomainRef,
    principal: CurrentPrincipal,
    start_date: Day = None,
    end_date: Day = None,
) -> dict[str, Any]:
    data = reports.daily_statistics(principal.tenant, domain_id, start_date, end_date)
    return data_response(request, data)


@router.get(
    "/domains/{domain_id}/sources",
    summary="Sending sources (IPs) by volume, with pass rates, hostname, network, country and known sender",
    response_model=ListEnvelope[SourceOut],
)
def domain_sources(
    request: Request,
    domain_id: DomainRef,
    principal: CurrentPrincipal,
    range: Literal["48h", "7d", "30d"] = "7d",
    date: Day = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {"domain_id": domain_id, "range": range, "date": date}
    # The cursor names the ranking snapshot of the first page and the offset in it.
    snapshot, _, offset_text = (decode_cursor(tenant, query, cursor) if cursor else "").rpartition(":")
    offset = int(offset_text) if offset_text.isdigit() else 0
    found = reports.sources(tenant, domain_id, range, date, snapshot=snapshot or None)
    rows = found["sources"][offset : offset + limit]
    enriched = reports.enrich_sources(rows)
    end = offset + len(rows)
    return list_response(
        request,
        tenant,
        enriched,
        limit=limit,
        query=query,
        position=f"{found['snapshot']}:{end}" if end < len(found["sources"]) else None,
        total_count=len(found["sources"]),
    )
