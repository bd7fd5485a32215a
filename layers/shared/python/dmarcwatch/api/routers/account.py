"""GET /account: the account, its plan, subscription and usage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dmarcwatch.api.account_schemas import AccountOut
from dmarcwatch.api.contracts import DocumentedRoute
from dmarcwatch.api.deps import CurrentPrincipal
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.schemas import Envelope
from dmarcwatch.models import iso
from dmarcwatch.services import accounts

router = APIRouter(tags=["account"], route_class=DocumentedRoute)


@router.get(
    "/account",
    summary="The calling account, plan, subscription status and usage",
    response_model=Envelope[AccountOut],
)
def get_account(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    account, plan = principal.account, principal.plan
    usage = accounts.usage(principal.tenant, getattr(request.state, "calls_today", None))
    return data_response(
        request,
        {
            "id": account.id,
            "email": account.email,
            "name": account.name,
            "environment": principal.key.environment.value,
            "created_at": iso(account.created_at),
            "subscription_status": account.subscription_status.value,
            "production_access": account.production_access,
            "inbound_address": accounts.inbound_address(account, principal.key.environment),
            "plan": {
                "name": plan.name.value,
                "requests_per_minute": plan.requests_per_minute,
                "requests_per_day": plan.requests_per_day,
                "domains_allowed": plan.domains_allowed,
                "scan_interval_hours": plan.scan_interval_hours,
                "api_keys_per_environment": plan.api_keys_per_environment,
            },
            "usage": {
                "domains": usage.domains,
                "domains_allowed": plan.domains_allowed,
                "api_calls_today": usage.api_calls_today,
                "reports_this_month": usage.reports_this_month,
            },
        },
    )
