"""GET /dashboard/summary: the portfolio at a glance, from counters (never a read of every domain)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.portfolio_schemas import DashboardSummaryOut
from dmarcwatch.api.schemas import Envelope
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.services import dashboard

router = APIRouter(tags=["dashboard"], route_class=DocumentedRoute)


@router.get(
    "/dashboard/summary",
    summary="Portfolio summary: gateways, DMARC and SPF posture, freshness, recent changes, volume",
    description="Of the whole environment, of one folder (`folder_id`, or `none`) or of one tag. "
    "`needs_attention_count` counts scanned domains whose DMARC policy is none or missing/invalid, or "
    "whose SPF is missing, invalid or over the 10-lookup limit. Read from counters the writers keep "
    "(and a nightly reconciliation checks), so it costs the same at 10 or 10,000 domains.",
    response_model=Envelope[DashboardSummaryOut],
)
def summary(
    request: Request,
    principal: CurrentPrincipal,
    folder_id: Annotated[
        str | None, Query(pattern=r"^(fld_[A-Za-z0-9]{20}|none)$", description="A folder id, or none")
    ] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=40, description="One tag")] = None,
) -> dict[str, Any]:
    if folder_id is not None and tag is not None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "give folder_id or tag, not both",
            details=[{"field": "query.tag", "issue": "exclusive", "message": "one scope at a time"}],
        )
    data = dashboard.summary(principal.tenant, folder_id=folder_id, tag=tag.strip().lower() if tag else None)
    return data_response(request, DashboardSummaryOut.model_validate(data))
