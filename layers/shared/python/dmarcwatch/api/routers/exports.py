"""Exports: queue one (202), list them newest first, read one (with a fresh download link), delete one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import CurrentPrincipal, Cursor, Limit
from dmarcwatch.api.export_schemas import ExportCreate, ExportDeleted, ExportOut
from dmarcwatch.api.listing import data_response, list_response
from dmarcwatch.api.pagination import decode_cursor
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.export_model import MAX_ACTIVE_EXPORTS, MAX_EXPORT_ROWS
from dmarcwatch.services import exports

router = APIRouter(tags=["exports"], route_class=DocumentedRoute)

ExportId = Annotated[str, Path(max_length=64, description="An export id (exp_…)")]

_CREATE_DESCRIPTION = f"""Queue an export of a dataset as a file (202; poll `GET /exports/{{id}}` until
`status` is `completed`, then download `file_url`).

`export_type`: `csv` (default), `json` (an array of objects), `zip` (the CSV inside a zip) or `diff` (the net
DNS changes between `since` and `until`, both required, as CSV: per domain and field the value before the
window's first change and after its last). Anything else (`pdf`) is 400 naming these.

`columns` picks and orders the columns (default: all); an unknown one is 400 naming the valid ones.
`filters` takes the filters of the dataset's list endpoint. The datasets:

{exports.describe()}

At most {MAX_ACTIVE_EXPORTS} exports of a key's environment are queued or running at once (429 with
Retry-After beyond). An export stops at {MAX_EXPORT_ROWS:,} rows and completes with `truncated: true`.
Files and exports are deleted 7 days after they finish. The `export.completed` event announces each file.
CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
begin with a `'`."""


def _out(export: Any) -> dict[str, Any]:
    return ExportOut.of(export, exports.download(export)).model_dump()


@router.post(
    "/exports",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue an export (csv, json, zip or diff) of domains, scan results, changes, reports, sources "
    "or statistics",
    description=_CREATE_DESCRIPTION,
    response_model=Envelope[ExportOut],
    responses=error_responses(404),  # a filters.domain_id that names no domain of the caller's
)
def create_export(request: Request, body: ExportCreate, principal: CurrentPrincipal) -> dict[str, Any]:
    tenant = principal.tenant
    chosen = exports.parameters(
        tenant,
        export_type=body.export_type,
        dataset=body.dataset,
        folder_id=body.folder_id,
        columns=body.columns,
        filters=body.filters,
        since=body.since,
        until=body.until,
    )
    return data_response(request, _out(exports.create(tenant, chosen)))


@router.get("/exports", summary="List exports, newest first", response_model=ListEnvelope[ExportOut])
def list_exports(
    request: Request, principal: CurrentPrincipal, limit: Limit = 25, cursor: Cursor = None
) -> dict[str, Any]:
    tenant = principal.tenant
    query: dict[str, Any] = {}
    after = decode_cursor(tenant, query, cursor) if cursor else None
    found, position = exports.list_exports(tenant, limit=limit, after=after)
    return list_response(
        request, tenant, [_out(e) for e in found], limit=limit, query=query, position=position
    )


@router.get(
    "/exports/{export_id}",
    summary="One export: its status and progress, and a fresh 15-minute download link once completed",
    response_model=Envelope[ExportOut],
)
def get_export(request: Request, export_id: ExportId, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, _out(exports.get(principal.tenant, export_id)))


@router.delete(
    "/exports/{export_id}",
    summary="Delete an export and its file (a queued or running one is stopped)",
    response_model=Envelope[ExportDeleted],
    responses=error_responses(409),
)
def delete_export(request: Request, export_id: ExportId, principal: CurrentPrincipal) -> dict[str, Any]:
    export = exports.delete(principal.tenant, export_id)
    return data_response(request, {"id": export.id, "deleted": True})
