"""Exports: what a tenant asked for, where its run stands, and the message that starts the run.

One model for the stored item, the queue message and the services; the API shapes its answers from it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field

from dmarcwatch.modeling import Model


class ExportType(StrEnum):
    CSV = "csv"
    JSON = "json"
    ZIP = "zip"  # the CSV inside a zip archive
    DIFF = "diff"  # net DNS changes between `since` and `until`, as CSV


class ExportDataset(StrEnum):
    DOMAINS = "domains"
    SCAN_RESULTS = "scan_results"
    CHANGES = "changes"
    REPORTS = "reports"
    SOURCES = "sources"
    STATS = "stats"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Queued and running exports hold one of the tenant's slots (`MAX_ACTIVE_EXPORTS`)."""
        return self in (ExportStatus.QUEUED, ExportStatus.RUNNING)


# At most this many exports of a tenant (account and environment) are queued or running at once.
MAX_ACTIVE_EXPORTS = 3
# An export stops at this many rows and completes with `truncated: true`.
MAX_EXPORT_ROWS = 1_000_000
# Files and items are kept this long after the export finished (the bucket's lifecycle expires the files).
EXPORT_RETENTION = timedelta(days=7)
# A running export whose worker showed no sign of life (a progress write) for this long is dead: a message
# delivered again takes it over, and a full tenant's next request fails it. A queued one is given up after
# QUEUED_STALE (its message lost, or retried and parked in the DLQ).
RUNNING_STALE = timedelta(minutes=5)
QUEUED_STALE = timedelta(hours=3)
# A download link is made on each read of the export and works for this long.
DOWNLOAD_URL_SECONDS = 15 * 60

FILE_EXTENSIONS = {
    ExportType.CSV: "csv",
    ExportType.JSON: "json",
    ExportType.ZIP: "zip",
    ExportType.DIFF: "csv",
}
CONTENT_TYPES = {
    ExportType.CSV: "text/csv; charset=utf-8",
    ExportType.JSON: "application/json",
    ExportType.ZIP: "application/zip",
    ExportType.DIFF: "text/csv; charset=utf-8",
}


class ExportParameters(Model):
    """What the export was asked for, validated (the API's answer repeats it as `parameters`)."""

    export_type: ExportType
    dataset: ExportDataset
    folder_id: str | None = None
    columns: list[str]
    filters: dict[str, Any] = Field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None


class Export(Model):
    id: str
    account_id: str
    environment: str
    task_id: str
    parameters: ExportParameters
    status: ExportStatus = ExportStatus.QUEUED
    progress: int = 0  # percent
    row_count: int = 0
    file_size: int | None = None
    truncated: bool = False
    error: str | None = None  # why it failed
    file_key: str
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None  # completed_at + EXPORT_RETENTION once finished
    # The run's own: the attempt that holds it (a token set by each claim), when that attempt last showed
    # life, and the S3 multipart upload it writes (aborted by the attempt that takes over).
    attempt: str | None = None
    heartbeat_at: datetime | None = None
    upload_id: str | None = None


class ExportRequest(Model):
    """The export queue's message: which export to run (everything else is on the item)."""

    export_id: str
    account_id: str
    environment: str
    task_id: str
