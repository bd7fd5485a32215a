"""Request and response models of the export endpoints (seed 002's export fields, and ours beside them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dmarcwatch.export_model import Export, ExportDataset, ExportType
from dmarcwatch.models import iso


class ExportCreate(BaseModel):
    """export_type and dataset are checked by the service, so an unsupported one (`pdf`) is answered with
    the supported ones by name."""

    model_config = ConfigDict(extra="forbid")

    export_type: str | None = Field(
        default=None,
        max_length=20,
        description="csv (default), json, zip (the CSV in a zip) or diff (net DNS changes between since and "
        "until, as CSV)",
        json_schema_extra={"enum": [t.value for t in ExportType]},
    )
    dataset: str | None = Field(
        default=None,
        max_length=20,
        description="What to export (default domains; diff exports are changes)",
        json_schema_extra={"enum": [d.value for d in ExportDataset]},
    )
    folder_id: str | None = Field(default=None, max_length=64, description="Only the domains of this folder")
    columns: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Columns in file order (default: every column of the dataset)",
    )
    filters: dict[str, Any] | None = Field(
        default=None,
        description="The dataset's filters, as its list endpoint takes them (listed in the description)",
    )
    since: AwareDatetime | None = Field(
        default=None,
        description="changes: detected at or after; reports: received at or after; diff: required",
    )
    until: AwareDatetime | None = Field(
        default=None, description="changes: detected before; reports: received before; diff: required"
    )


class ExportParametersOut(BaseModel):
    export_type: str
    dataset: str
    folder_id: str | None
    columns: list[str]
    filters: dict[str, Any]
    since: str | None
    until: str | None


class ExportOut(BaseModel):
    id: str
    export_type: str = Field(description="csv, json, zip or diff")
    dataset: str
    status: str = Field(description="queued, running, completed or failed")
    progress: int = Field(description="Percent of the dataset read (100 when completed)")
    task_id: str = Field(description="The queued task's id (appears in the worker's logs)")
    file_url: str | None = Field(
        description="A presigned download link, made afresh on each read and valid for 15 minutes; null "
        "until completed"
    )
    file_url_expires_at: str | None = Field(description="When file_url stops working")
    row_count: int = Field(description="Rows written (so far, while running)")
    file_size: int | None = Field(description="Bytes of the file; null until completed")
    truncated: bool = Field(description="true when the export stopped at its 1,000,000-row cap")
    error: str | None = Field(description="Why the export failed")
    parameters: ExportParametersOut
    created_at: str
    started_at: str | None
    completed_at: str | None = Field(description="When it completed or failed")
    expires_at: str | None = Field(description="When the file and this export are deleted (7 days after)")

    @classmethod
    def of(cls, export: Export, download: tuple[str, datetime] | None) -> ExportOut:
        chosen = export.parameters
        return cls(
            id=export.id,
            export_type=chosen.export_type.value,
            dataset=chosen.dataset.value,
            status=export.status.value,
            progress=export.progress,
            task_id=export.task_id,
            file_url=download[0] if download else None,
            file_url_expires_at=iso(download[1]) if download else None,
            row_count=export.row_count,
            file_size=export.file_size,
            truncated=export.truncated,
            error=export.error,
            parameters=ExportParametersOut(
                export_type=chosen.export_type.value,
                dataset=chosen.dataset.value,
                folder_id=chosen.folder_id,
                columns=chosen.columns,
                filters=chosen.filters,
                since=iso(chosen.since),
                until=iso(chosen.until),
            ),
            created_at=iso(export.created_at) or "",
            started_at=iso(export.started_at),
            completed_at=iso(export.completed_at),
            expires_at=iso(export.expires_at),
        )


class ExportDeleted(BaseModel):
    id: str
    deleted: bool
