"""Reports: list with filters, one report with its records, the raw mail, and uploads."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime

from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Day, Limit, ReportId
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor, encode_cursor
from dmarcwatch.api.report_schemas import RawDownloadOut, ReportDetailOut, ReportOut, UploadOut
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.services import reports

router = APIRouter(tags=["reports"], route_class=DocumentedRoute)


@router.get(
    "/reports",
    summary="List reports, newest first",
    response_model=ListEnvelope[ReportOut],
    responses=error_responses(404),  # a domain_id that names no domain of the caller's
)
def list_reports(
    request: Request,
    principal: CurrentPrincipal,
    domain_id: Annotated[str | None, Query(description="A domain id or name", max_length=253)] = None,
    domain: Annotated[str | None, Query(description="Part of the domain name", max_length=253)] = None,
    sender_org: Annotated[
        str | None, Query(description="Part of the reporting organisation", max_length=200)
    ] = None,
    start_date: Day = None,
    end_date: Day = None,
    kind: Literal["aggregate", "tlsrpt"] | None = None,
    received_after: Annotated[
        AwareDatetime | None, Query(description="Received at or after (ISO 8601 with a zone)")
    ] = None,
    received_before: Annotated[
        AwareDatetime | None, Query(description="Received before (ISO 8601 with a zone)")
    ] = None,
    limit: Limit = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    query = {
        "domain_id": domain_id,
        "domain": domain,
        "sender_org": sender_org,
        "start_date": start_date,
        "end_date": end_date,
        "kind": kind,
    }
    # The cursor is bound to every filter, the received bounds included.
    bound = {
        **query,
        "received_after": received_after.isoformat() if received_after else None,
        "received_before": received_before.isoformat() if received_before else None,
    }
    after = decode_cursor(tenant, bound, cursor) if cursor else None
    wanted = reports.report_filters(
        tenant, received_after=received_after, received_before=received_before, **query
    )
    found, position = reports.list_matching(tenant, wanted, limit=limit, after=after)
    return list_response(
        request,
        tenant,
        [ReportOut.of(r) for r in found],
        limit=limit,
        query=bound,
        position=position,
        total_count=reports.count_reports(tenant, wanted),
    )


@router.get(
    "/reports/{report_id}",
    summary="One report with its records (paginated)",
    response_model=Envelope[ReportDetailOut],
)
def get_report(
    request: Request,
    report_id: ReportId,
    principal: CurrentPrincipal,
    limit: Annotated[
        int, Query(ge=1, le=200, description="Records per page (each enriched with its source)")
    ] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    tenant = principal.tenant
    report = reports.get_report(tenant, report_id)
    query = {"report_id": report.id, "limit": limit}
    offset = int(decode_cursor(tenant, query, cursor)) if cursor else 0
    records = reports.report_records(tenant, report, offset, limit)
    next_offset = offset + len(records)
    position = str(next_offset) if next_offset < report.record_count else None
    next_cursor = encode_cursor(tenant, query, position) if position else None
    detail = ReportDetailOut(
        **ReportOut.of(report).model_dump(),
        records=records,
        records_offset=offset,
        records_next_cursor=next_cursor,
    )
    return data_response(request, detail)


@router.get(
    "/reports/{report_id}/raw",
    summary="Short-lived download links for the raw mail and the parsed payload",
    response_model=Envelope[RawDownloadOut],
)
def raw_report(request: Request, report_id: ReportId, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, RawDownloadOut.of(reports.raw_download(principal.tenant, report_id)))


@router.post(
    "/reports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a report file (XML, zip, gzip, JSON) or a raw mail",
    description="Send the bytes as the request body (any content type), at most 10 MB (413 above). The "
    "upload is kept and queued for the parser worker, the same pipeline as mailed reports; the answer (202) "
    "carries its id and `status_url` (`GET /v1/uploads/{id}`): pending, then stored with the report ids, "
    "duplicate, or quarantined with the reason.",
    response_model=Envelope[UploadOut],
    responses=error_responses(400, 413),
)
async def upload_report(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > reports.MAX_UPLOAD_BYTES:
        raise ApiError(
            ErrorCode.PAYLOAD_TOO_LARGE, f"uploads are limited to {reports.MAX_UPLOAD_BYTES} bytes"
        )
    body = await request.body()
    job = await run_in_threadpool(reports.upload, principal.tenant, body)
    return data_response(request, UploadOut.of(job))


@router.get(
    "/uploads/{upload_id}",
    summary="How an upload (or a reprocessing run) ended",
    response_model=Envelope[UploadOut],
)
def get_upload(request: Request, upload_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, UploadOut.of(reports.get_job(principal.tenant, upload_id)))
