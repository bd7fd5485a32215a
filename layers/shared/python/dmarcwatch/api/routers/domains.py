"""Domains: list (search, cursor), add one or many, get, delete, activate, deactivate."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response, status

from dmarcwatch.api.context import public_base_url, request_id_of
from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, DomainRef, Limit
from dmarcwatch.api.dns_schemas import ScanResultsOut
from dmarcwatch.api.domain_schemas import (
    BulkAddOut,
    ChangeOut,
    DomainCreate,
    DomainDeleted,
    DomainDetailOut,
    DomainOut,
    InvalidDomainOut,
    VerifyOut,
)
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.pagination import decode_cursor, encode_cursor
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.domain_names import public_suffix
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.models import DomainStatus
from dmarcwatch.services import dns_views, domains, verification

router = APIRouter(tags=["domains"], route_class=DocumentedRoute)

Search = Annotated[
    str | None, Query(max_length=253, description="Only domains whose name contains this text")
]


@router.get("/domains", summary="List monitored domains", response_model=ListEnvelope[DomainOut])
def list_domains(
    request: Request,
    principal: CurrentPrincipal,
    search: Search = None,
    email_gateway: Annotated[
        str | None, Query(max_length=100, description="Detected gateway, e.g. 'Google Workspace' or 'none'")
    ] = None,
    dmarc_status: Literal["reject", "quarantine", "none", "missing"] | None = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {"search": search or "", "email_gateway": email_gateway or "", "dmarc_status": dmarc_status or ""}
    after = decode_cursor(tenant, query, cursor) if cursor else None
    page = domains.list_domains(
        tenant,
        limit=limit,
        search=search,
        after=after,
        email_gateway=email_gateway,
        dmarc_status=dmarc_status,
    )
    next_cursor = encode_cursor(tenant, query, page.after) if page.after else None
    params = {k: v for k, v in {**query, "limit": limit, "cursor": next_cursor}.items() if v}
    base = public_base_url(request, request.app.state.prefix)
    meta: dict[str, Any] = {
        "request_id": request_id_of(request),
        "limit": limit,
        "next_cursor": next_cursor,
        "next": f"{base}{_list_path(request)}?{urlencode(params)}" if next_cursor else None,
    }
    meta["total_count"] = domains.count_domains(
        tenant, search=search, email_gateway=email_gateway, dmarc_status=dmarc_status
    )
    return {"data": [DomainOut.of(d).model_dump() for d in page.items], "meta": meta}


def _list_path(request: Request) -> str:
    """The path this listing was asked on, under the API prefix (its `next` link repeats it)."""
    return request.url.path.removeprefix(request.app.state.prefix)


@router.get(
    "/organizations/{account_id}/domains",
    summary="List monitored domains (seed 001's path; the caller's own account only)",
    description="The same listing as `GET /domains`. `account_id` must be the calling key's account "
    "(`acct_…`): any other is 404, whether it exists or not.",
    response_model=ListEnvelope[DomainOut],
)
def list_organization_domains(
    request: Request,
    principal: CurrentPrincipal,
    account_id: Annotated[str, Path(max_length=64, description="The caller's account id (acct_…)")],
    search: Search = None,
    email_gateway: Annotated[str | None, Query(max_length=100, description="As for GET /domains")] = None,
    dmarc_status: Literal["reject", "quarantine", "none", "missing"] | None = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    if account_id != principal.account.id:
        raise not_found("organization")
    return list_domains(request, principal, search, email_gateway, dmarc_status, limit, cursor)


@router.post(
    "/domains",
    status_code=status.HTTP_201_CREATED,
    summary="Add one domain or up to 500 at once",
    description=(
        'Send {"domain": name} for one (201, or an error), or {"domains": [...]} for up to 500: the answer '
        "counts submitted, added, existing, duplicates and invalid, with a reason per invalid name "
        "(201 if any was added, else 200)."
    ),
    response_model=Envelope[DomainOut | BulkAddOut],
    responses={
        200: {"model": Envelope[BulkAddOut], "description": "A list of which none was added"},
        **error_responses(409),
    },
)
def add_domains(
    request: Request, response: Response, body: DomainCreate, principal: CurrentPrincipal
) -> dict[str, Any]:
    if body.domain is not None:
        result = domains.add_domains(principal.tenant, principal.plan, [body.domain])
        if result.invalid:
            bad = result.invalid[0]
            code = ErrorCode.FORBIDDEN if bad.reason == "plan_limit" else ErrorCode.VALIDATION_ERROR
            raise ApiError(
                code, bad.message, details=[{"field": "domain", "issue": bad.reason, "message": bad.message}]
            )
        if result.existing:
            raise ApiError(ErrorCode.CONFLICT, f"{result.existing[0]} is already monitored")
        return data_response(request, DomainOut.of(result.added[0]).model_dump())

    assert body.domains is not None
    result = domains.add_domains(principal.tenant, principal.plan, body.domains)
    if not result.added:
        response.status_code = status.HTTP_200_OK
    out = BulkAddOut(
        submitted=result.submitted,
        added=len(result.added),
        existing=len(result.existing),
        duplicates=len(result.duplicates),
        invalid=len(result.invalid),
        scans_queued=result.scans_queued,
        domains=[DomainOut.of(d) for d in result.added],
        existing_domains=result.existing,
        invalid_domains=[
            InvalidDomainOut(domain=i.input, reason=i.reason, message=i.message) for i in result.invalid
        ],
    )
    return data_response(request, out.model_dump())


@router.get(
    "/domains/{domain_id}",
    summary="One domain, by id or by name, with its latest scan and recent DNS changes",
    response_model=Envelope[DomainDetailOut],
)
def get_domain(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    domain = domains.resolve(principal.tenant, domain_id)
    latest = dns_views.latest_or_none(principal.tenant, domain.id)
    recent, _ = dns_views.changes(principal.tenant, domain.id, 10, None)
    data = DomainDetailOut(
        **DomainOut.of(domain).model_dump(),
        tld=public_suffix(domain.name),
        scan_result=ScanResultsOut.of(latest) if latest else None,
        recent_changes=[ChangeOut.model_validate(row) for row in recent],
    )
    return data_response(request, data)


@router.delete(
    "/domains/{domain_id}", summary="Stop monitoring a domain", response_model=Envelope[DomainDeleted]
)
def delete_domain(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    domain = domains.delete_domain(principal.tenant, domain_id)
    return data_response(request, {"id": domain.id, "domain": domain.name, "deleted": True})


@router.post("/domains/{domain_id}/activate", summary="Resume monitoring", response_model=Envelope[DomainOut])
def activate(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    domain = domains.set_status(principal.tenant, domain_id, DomainStatus.ACTIVE)
    return data_response(request, DomainOut.of(domain).model_dump())


@router.post(
    "/domains/{domain_id}/verify",
    summary="Prove ownership: looks up the TXT token (see the domain's `verification`)",
    response_model=Envelope[VerifyOut],
)
def verify(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    result = verification.verify(principal.tenant, domain_id)
    data = VerifyOut(
        domain=DomainOut.of(result.domain),
        verified=result.verified,
        status=result.status,
        detail=result.detail,
    )
    return data_response(request, data)


@router.post(
    "/domains/{domain_id}/deactivate",
    summary="Pause monitoring (reports are quarantined, no scans)",
    response_model=Envelope[DomainOut],
)
def deactivate(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    domain = domains.set_status(principal.tenant, domain_id, DomainStatus.INACTIVE)
    return data_response(request, DomainOut.of(domain).model_dump())
