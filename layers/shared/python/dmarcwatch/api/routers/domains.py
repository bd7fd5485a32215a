"""Domains: list (search, cursor), add one or many, get, delete, activate, deactivate."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

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
from dmarcwatch.api.portfolio_schemas import BulkUpdateOut, DomainBulkUpdate, DomainPatch
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.domain_names import public_suffix
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.models import DomainStatus, iso
from dmarcwatch.services import dns_views, domain_fields, domains, reports, verification, whois
from dmarcwatch.services.domains import DomainFilter, domain_removal_deadline

router = APIRouter(tags=["domains"], route_class=DocumentedRoute)

Search = Annotated[
    str | None, Query(max_length=253, description="Only domains whose name contains this text")
]


def domain_filters(
    search: Search = None,
    email_gateway: Annotated[
        str | None, Query(max_length=100, description="Detected gateway, e.g. 'Google Workspace' or 'none'")
    ] = None,
    dmarc_status: Literal["reject", "quarantine", "none", "missing"] | None = None,
    folder_id: Annotated[
        str | None,
        Query(pattern=r"^(fld_[A-Za-z0-9]{20}|none)$", description="A folder id, or `none` for no folder"),
    ] = None,
    tag: Annotated[
        list[str] | None, Query(max_length=20, description="Repeatable: domains carrying every tag given")
    ] = None,
    is_favorite: bool | None = None,
    status: Annotated[
        DomainStatus | None,
        Query(description="active, inactive or removed (removed domains are listed only when asked for)"),
    ] = None,
) -> DomainFilter:
    """The list's filters. Folder, tag, favourite and status are read through the facet index."""
    tags = tuple(dict.fromkeys(t.strip().lower() for t in tag or () if t.strip()))
    if any(len(t) > 40 for t in tags):
        raise ApiError(ErrorCode.VALIDATION_ERROR, "a tag is at most 40 characters")
    return DomainFilter(
        search=search,
        email_gateway=email_gateway,
        dmarc_status=dmarc_status,
        folder_id=folder_id,
        tags=tags,
        is_favorite=is_favorite,
        status=status.value if status else None,
    )


Filters = Annotated[DomainFilter, Depends(domain_filters)]


def _bound(filters: DomainFilter) -> dict[str, Any]:
    """The filters as the cursor binds them and the `next` link repeats them."""
    return {
        "search": filters.search or "",
        "email_gateway": filters.email_gateway or "",
        "dmarc_status": filters.dmarc_status or "",
        "folder_id": filters.folder_id or "",
        "tag": list(filters.tags),
        "is_favorite": "" if filters.is_favorite is None else str(filters.is_favorite).lower(),
        "status": filters.status or "",
    }


@router.get("/domains", summary="List monitored domains", response_model=ListEnvelope[DomainOut])
def list_domains(
    request: Request, principal: CurrentPrincipal, filters: Filters, limit: Limit = 25, cursor: Cursor = None
) -> dict[str, Any]:
    tenant = principal.tenant
    query = _bound(filters)
    after = decode_cursor(tenant, query, cursor) if cursor else None
    page, total = domains.list_with_total(tenant, limit=limit, after=after, filters=filters)
    next_cursor = encode_cursor(tenant, query, page.after) if page.after else None
    params = {k: v for k, v in {**query, "limit": limit, "cursor": next_cursor}.items() if v}
    base = public_base_url(request, request.app.state.prefix)
    meta: dict[str, Any] = {
        "request_id": request_id_of(request),
        "limit": limit,
        "next_cursor": next_cursor,
        "next": f"{base}{_list_path(request)}?{urlencode(params, doseq=True)}" if next_cursor else None,
        "total_count": total,
    }
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
    filters: Filters,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    if account_id != principal.account.id:
        raise not_found("organization")
    return list_domains(request, principal, filters, limit, cursor)


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


# The detail's change history: seed 002's last 100.
HISTORY_KEPT = 100


@router.get(
    "/domains/{domain_id}",
    summary="One domain, by id or by name, with its latest scan, DNS change history and 30-day totals",
    response_model=Envelope[DomainDetailOut],
)
def get_domain(request: Request, domain_id: DomainRef, principal: CurrentPrincipal) -> dict[str, Any]:
    tenant = principal.tenant
    domain = domains.resolve(tenant, domain_id)
    latest = dns_views.latest_or_none(tenant, domain.id)
    history, _ = dns_views.changes(tenant, domain.id, HISTORY_KEPT, None)
    stats = reports.daily_statistics(tenant, domain.id, None, None)
    data = DomainDetailOut(
        **DomainOut.of(domain).model_dump(),
        tld=public_suffix(domain.name),
        notes=domain.notes,
        first_seen=iso(domain.created_at),
        last_scanned=iso(domain.last_scan_at),
        scan_count=latest["scan_count"] if latest else 0,
        scan_result=ScanResultsOut.of(latest) if latest else None,
        change_history=[ChangeOut.model_validate(row) for row in history],
        stats_30d=stats["totals"],
        whois=whois.latest(tenant, domain),
    )
    return data_response(request, data)


@router.delete(
    "/domains/{domain_id}",
    summary="Stop monitoring a domain (kept 30 days: adding it again restores it with its history)",
    description="The domain leaves the lists, counts, dashboard and scans at once and frees its place in "
    "the plan; its reports, statistics and history stay readable for 30 days, then are purged. "
    "`purge=true` deletes everything now.",
    response_model=Envelope[DomainDeleted],
)
def delete_domain(
    request: Request,
    domain_id: DomainRef,
    principal: CurrentPrincipal,
    purge: Annotated[
        bool, Query(description="Delete it and all its data now, instead of keeping it 30 days")
    ] = False,
) -> dict[str, Any]:
    domain = domains.delete_domain(principal.tenant, domain_id, purge=purge)
    out = DomainDeleted(
        id=domain.id,
        domain=domain.name,
        deleted=True,
        status="purged" if purge else "removed",
        restorable_until=None if purge else iso(domain_removal_deadline(domain)),
    )
    return data_response(request, out)


@router.patch(
    "/domains/{domain_id}",
    summary="Set a domain's folder, favourite, tags, notes or label",
    description="Only the fields sent change; `null` clears folder_id, notes and custom_label; tags "
    "(at most 20, 1 to 40 characters, stored lowercased) replace the list. Unknown fields are refused (400).",
    response_model=Envelope[DomainOut],
)
def update_domain(
    request: Request, domain_id: DomainRef, body: DomainPatch, principal: CurrentPrincipal
) -> dict[str, Any]:
    domain = domain_fields.update_domain(principal.tenant, domain_id, body.change())
    return data_response(request, DomainOut.of(domain).model_dump())


@router.post(
    "/domains/bulk-update",
    summary="One change (folder, favourite, tags, label) for up to 500 domains",
    description="Counts each outcome: updated, unchanged, not found, failed (changed concurrently). "
    "`add_tags`/`remove_tags` edit the tags; `tags` replaces them.",
    response_model=Envelope[BulkUpdateOut],
)
def bulk_update(request: Request, body: DomainBulkUpdate, principal: CurrentPrincipal) -> dict[str, Any]:
    outcome = domain_fields.bulk_update(principal.tenant, body.ids, body.change())
    out = BulkUpdateOut(
        submitted=outcome.submitted,
        updated=len(outcome.updated),
        unchanged=len(outcome.unchanged),
        not_found=len(outcome.not_found),
        failed=len(outcome.failed),
        not_found_ids=outcome.not_found,
        failed_ids=outcome.failed,
    )
    return data_response(request, out)


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
