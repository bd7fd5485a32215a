"""Exports for the API: validate a request, queue it within the tenant's cap, list, read and delete them.

Everything a run needs is checked here, before anything is queued: an export that is accepted (202) fails
later only for reasons the request could not show (a domain deleted meanwhile, the time limit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.export_model import (
    DOWNLOAD_URL_SECONDS,
    FILE_EXTENSIONS,
    MAX_ACTIVE_EXPORTS,
    QUEUED_STALE,
    RUNNING_STALE,
    Export,
    ExportDataset,
    ExportParameters,
    ExportRequest,
    ExportStatus,
    ExportType,
)
from dmarcwatch.facets import NO_FOLDER
from dmarcwatch.ids import IdPrefix, has_prefix, new_id
from dmarcwatch.models import Tenant, utcnow
from dmarcwatch.services import domains, export_columns, export_datasets, folders, reports
from dmarcwatch.store import export_files, queues
from dmarcwatch.store import exports as export_store

RETRY_AFTER_SECONDS = 30


def _invalid(field: str, issue: str, message: str) -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_ERROR, message, details=[{"field": field, "issue": issue, "message": message}]
    )


def _choice(value: str | None, enum: type[ExportType] | type[ExportDataset], field: str, default: Any) -> Any:
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        supported = ", ".join(member.value for member in enum)
        raise _invalid(
            field, "unsupported", f"{field} {value!r} is not supported: use one of {supported}"
        ) from None


def _columns(export_type: ExportType, dataset: ExportDataset, asked: list[str] | None) -> list[str]:
    valid = [column.name for column in export_columns.columns_of(export_type, dataset)]
    if asked is None:
        return valid
    what = "diff exports" if export_type is ExportType.DIFF else f"the {dataset.value} dataset"
    unknown = [name for name in asked if name not in valid]
    if not asked or unknown or len(set(asked)) != len(asked):
        problem = (
            f"unknown columns {', '.join(map(repr, unknown))}" if unknown else "columns must be distinct"
        )
        if not asked:
            problem = "columns must not be empty (omit it for every column)"
        raise _invalid("columns", "invalid", f"{problem}; the columns of {what} are: {', '.join(valid)}")
    return list(asked)


def _filters(
    tenant: Tenant, export_type: ExportType, dataset: ExportDataset, raw: dict[str, Any]
) -> dict[str, Any]:
    model = (
        export_datasets.PerDomainFilters
        if export_type is ExportType.DIFF
        else export_datasets.FILTERS[dataset]
    )
    names = export_datasets.filter_names(model)
    try:
        filters = model.model_validate(raw)
    except ValidationError as error:
        details = [
            {"field": ".".join(["filters", *map(str, e["loc"])]), "issue": e["type"], "message": e["msg"]}
            for e in error.errors()
        ]
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"invalid filters for {dataset.value}; the filters it takes are: {', '.join(names)}",
            details=details,
        ) from None
    values = filters.model_dump(exclude_none=True)
    _check_dates(values)
    if values.get("domain_id"):  # one domain: it must be the tenant's (404 otherwise, like the lists)
        values["domain_id"] = domains.resolve(tenant, values["domain_id"]).id
    return values


def _check_dates(values: dict[str, Any]) -> None:
    """The date filters as the statistics and report lists check them (400 invalid_date)."""
    if "start_date" in values or "end_date" in values:
        reports.date_range(values.get("start_date"), values.get("end_date"), 30)
    reports.parse_day(values.get("date"), "date")


def _folder(tenant: Tenant, dataset: ExportDataset, folder_id: str) -> str:
    """The folder's id (404 when it is not the tenant's), or `none` for the domains in no folder."""
    if dataset is ExportDataset.REPORTS:
        raise _invalid(
            "folder_id", "not_applicable", "folder_id narrows the domains: not the reports dataset"
        )
    return folder_id if folder_id == NO_FOLDER else folders.get(tenant, folder_id).id


def _window(
    export_type: ExportType, dataset: ExportDataset, since: datetime | None, until: datetime | None
) -> None:
    if export_type is ExportType.DIFF and (since is None or until is None):
        raise _invalid("since", "missing", "a diff export needs both since and until (ISO 8601 timestamps)")
    if (since or until) and export_type is not ExportType.DIFF and dataset not in export_datasets.TIMED:
        timed = ", ".join(sorted(d.value for d in export_datasets.TIMED))
        raise _invalid("since", "not_applicable", f"since and until apply to diff exports and to: {timed}")
    for field, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise _invalid(field, "invalid", f"{field} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    if since and until and since >= until:
        raise _invalid("since", "invalid", "since must be before until")


def parameters(
    tenant: Tenant,
    *,
    export_type: str | None,
    dataset: str | None,
    folder_id: str | None,
    columns: list[str] | None,
    filters: dict[str, Any] | None,
    since: datetime | None,
    until: datetime | None,
) -> ExportParameters:
    """The request checked against the column registry and the datasets' filters (400 naming the choices)."""
    kind: ExportType = _choice(export_type, ExportType, "export_type", ExportType.CSV)
    default = ExportDataset.CHANGES if kind is ExportType.DIFF else ExportDataset.DOMAINS
    chosen: ExportDataset = _choice(dataset, ExportDataset, "dataset", default)
    if kind is ExportType.DIFF and chosen is not ExportDataset.CHANGES:
        raise _invalid(
            "dataset", "invalid", "a diff export is made of DNS changes: dataset changes (or omit it)"
        )
    if folder_id is not None:
        folder_id = _folder(tenant, chosen, folder_id)
    _window(kind, chosen, since, until)
    return ExportParameters(
        export_type=kind,
        dataset=chosen,
        folder_id=folder_id,
        columns=_columns(kind, chosen, columns),
        filters=_filters(tenant, kind, chosen, filters or {}),
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
    )


def create(tenant: Tenant, chosen: ExportParameters) -> Export:
    """Queue the export (202); 429 when the tenant has MAX_ACTIVE_EXPORTS queued or running already."""
    # To the microsecond: the listing's order (newest first) is by this time.
    now = datetime.now(UTC)
    export_id = new_id(IdPrefix.EXPORT)
    export = Export(
        id=export_id,
        account_id=tenant.account_id,
        environment=tenant.environment.value,
        task_id=str(uuid.uuid4()),
        parameters=chosen,
        file_key=f"exports/{tenant.account_id}/{tenant.environment.value}/{export_id}."
        f"{FILE_EXTENSIONS[chosen.export_type]}",
        created_at=now,
    )
    if not export_store.create(export, MAX_ACTIVE_EXPORTS):
        sweep_stale(tenant, now)
        if not export_store.create(export, MAX_ACTIVE_EXPORTS):
            raise ApiError(
                ErrorCode.RATE_LIMIT_EXCEEDED,
                f"at most {MAX_ACTIVE_EXPORTS} exports may be queued or running at once: wait for one to "
                "finish (GET /v1/exports) or delete one",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
    request = ExportRequest(
        export_id=export.id,
        account_id=export.account_id,
        environment=export.environment,
        task_id=export.task_id,
    )
    try:
        queues.send_export_request(request.model_dump_json())
    except Exception:
        export_store.fail(tenant, export.id, "the export could not be queued; try again", utcnow())
        raise
    return export


def sweep_stale(tenant: Tenant, now: datetime) -> int:
    """Fail the tenant's exports that hold a slot without a sign of life (a lost message, a dead worker);
    how many were failed."""
    failed = 0
    for export in export_store.active_exports(tenant):
        limit = QUEUED_STALE if export.status is ExportStatus.QUEUED else RUNNING_STALE
        reason = "the export stalled (no worker ran it in time); create it again"
        failed += export_store.fail(tenant, export.id, reason, now, stale_before=now - limit)
    return failed


def get(tenant: Tenant, export_id: str) -> Export:
    export = export_store.get(tenant, export_id) if has_prefix(export_id, IdPrefix.EXPORT) else None
    if export is None:
        raise not_found("export")
    return export


def list_exports(tenant: Tenant, *, limit: int, after: str | None) -> tuple[list[Export], str | None]:
    return export_store.list_page(tenant, limit=limit, after=after)


def delete(tenant: Tenant, export_id: str) -> Export:
    """Delete the export and its file; a running one stops at its next progress write."""
    for _ in range(5):
        export = get(tenant, export_id)
        if export_store.delete(tenant, export):
            export_files.delete_file(export.file_key)
            return export
    raise ApiError(ErrorCode.CONFLICT, "the export kept changing while being deleted; try again")


def download(export: Export) -> tuple[str, datetime] | None:
    """A fresh presigned link to a completed export's file and when it stops working; None before."""
    if export.status is not ExportStatus.COMPLETED:
        return None
    name = f"{export.parameters.dataset.value}-{export.id}.{FILE_EXTENSIONS[export.parameters.export_type]}"
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=DOWNLOAD_URL_SECONDS)
    return export_files.download_url(export.file_key, name, DOWNLOAD_URL_SECONDS), expires


def describe() -> str:
    """The datasets with their columns and filters (Markdown), for the API's description."""
    lines = []
    for dataset, columns in export_columns.COLUMNS.items():
        model = export_datasets.FILTERS[dataset]
        filters = ", ".join(f"`{name}`" for name in export_datasets.filter_names(model))
        lines.append(
            f"- `{dataset.value}`: columns "
            + ", ".join(f"`{c.name}`" for c in columns)
            + f"; filters {filters}"
        )
    diff = ", ".join(f"`{c.name}`" for c in export_columns.DIFF_COLUMNS)
    lines.append(f"- export_type `diff` (dataset changes): columns {diff}; filters as changes")
    return "\n".join(lines)
