"""Running one export: claim it, stream its rows into the file, finish it (completed or failed).

At least once, idempotent: a message delivered again finds the export finished (nothing to do) or running
(left alone while its worker shows life; taken over when the worker died, whose unfinished upload is
aborted first). The file's key is the export's own, and only a completed multipart upload creates the
object, so however often a message runs there is at most one file.

Memory stays flat: rows go out a page at a time into a multipart upload that sends each part as it fills.
The run stops before the Lambda's time runs out and fails the export with the reason, rather than being
killed half way (which would leave it running until a retry takes it over).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from enum import StrEnum

from dmarcwatch.errors import ApiError
from dmarcwatch.events import Event, ExportCompleted
from dmarcwatch.export_model import (
    CONTENT_TYPES,
    MAX_EXPORT_ROWS,
    RUNNING_STALE,
    Export,
    ExportRequest,
    ExportType,
)
from dmarcwatch.ids import IdPrefix, new_id
from dmarcwatch.models import Tenant, utcnow
from dmarcwatch.observability import logger
from dmarcwatch.services import export_columns, export_datasets
from dmarcwatch.services.export_formats import ByteSink, CsvWriter, JsonWriter, RowWriter, ZipCsvWriter
from dmarcwatch.store import export_files
from dmarcwatch.store import exports as export_store

HEARTBEAT_SECONDS = 2.0
# The run gives up (failed, with the reason) when less than this is left of the worker's time.
TIME_RESERVE_SECONDS = 45.0


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"  # finished, deleted or alive elsewhere: not this message's to run
    STOPPED = "stopped"  # deleted or taken over while running


class _Stopped(Exception):
    pass


class _OutOfTime(Exception):
    pass


def run(request: ExportRequest, seconds_left: Callable[[], float]) -> Outcome:
    """Run the export the message names; `seconds_left` is the worker's remaining time."""
    tenant = Tenant.model_validate({"account_id": request.account_id, "environment": request.environment})
    attempt = uuid.uuid4().hex
    now = utcnow()
    export = export_store.claim(tenant, request.export_id, attempt, now, now - RUNNING_STALE)
    if export is None:
        logger.info(
            "export not run: finished, deleted or running elsewhere", extra={"export": request.export_id}
        )
        return Outcome.SKIPPED
    if export.upload_id:  # the attempt that died before us left its parts behind
        export_files.abort_upload(export.file_key, export.upload_id)
    try:
        rows, size, truncated = _write(tenant, export, attempt, seconds_left)
    except _Stopped:
        return Outcome.STOPPED
    except _OutOfTime:
        return _fail(
            tenant,
            export,
            attempt,
            "the export did not finish within the worker's time limit: narrow it with filters or columns",
        )
    except ApiError as error:  # what the services refuse (a domain deleted since, a bad date)
        return _fail(tenant, export, attempt, error.message)
    except Exception:
        logger.exception("export failed", extra={"export": export.id})
        return _fail(tenant, export, attempt, "internal error while writing the file; try again")
    event = Event(
        id=new_id(IdPrefix.EVENT),
        account_id=export.account_id,
        environment=export.environment,
        created_at=utcnow(),
        payload=ExportCompleted(
            export_id=export.id,
            export_type=export.parameters.export_type.value,
            dataset=export.parameters.dataset.value,
            row_count=rows,
            file_size=size,
            truncated=truncated,
        ),
    )
    done = export_store.complete(
        tenant,
        export.id,
        attempt,
        event.created_at,
        rows=rows,
        file_size=size,
        truncated=truncated,
        event=event,
    )
    if not done:
        # Deleted meanwhile: its file must not outlive it. (Taken over: the other attempt owns the key.)
        if export_store.get(tenant, export.id) is None:
            export_files.delete_file(export.file_key)
        return Outcome.STOPPED
    return Outcome.COMPLETED


def _fail(tenant: Tenant, export: Export, attempt: str, reason: str) -> Outcome:
    export_store.fail(tenant, export.id, reason, utcnow(), attempt=attempt)
    return Outcome.FAILED


def _writer(export: Export, sink: ByteSink, names: list[str]) -> RowWriter:
    match export.parameters.export_type:
        case ExportType.JSON:
            return JsonWriter(sink, names)
        case ExportType.ZIP:
            return ZipCsvWriter(sink, names, f"{export.parameters.dataset.value}-{export.id}.csv")
    return CsvWriter(sink, names)


def _write(
    tenant: Tenant, export: Export, attempt: str, seconds_left: Callable[[], float]
) -> tuple[int, int, bool]:
    """Stream every row into the export's file; (rows, bytes, truncated)."""
    parameters = export.parameters
    columns = export_columns.select(parameters.export_type, parameters.dataset, parameters.columns)
    file = export_files.MultipartFile(export.file_key, CONTENT_TYPES[parameters.export_type])
    rows = 0
    truncated = False
    last_beat = 0.0

    def beat(progress: float | None) -> None:
        nonlocal last_beat
        percent = min(int((progress or 0) * 100), 99)
        if not export_store.heartbeat(
            tenant, export.id, attempt, utcnow(), rows=rows, progress=percent, upload_id=file.upload_id
        ):
            file.abort()
            raise _Stopped
        last_beat = time.monotonic()

    try:
        beat(0)
        writer = _writer(export, file, parameters.columns)
        for batch in export_datasets.read(tenant, parameters):
            if rows == MAX_EXPORT_ROWS:
                truncated = truncated or bool(batch.records)
                if truncated:
                    break
                continue
            taken = batch.records[: MAX_EXPORT_ROWS - rows]
            writer.write_rows([[column.get(record) for column in columns] for record in taken])
            rows += len(taken)
            truncated = len(taken) < len(batch.records)
            if truncated:
                break
            if seconds_left() < TIME_RESERVE_SECONDS:
                raise _OutOfTime
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                beat(batch.progress)
        writer.close()
        size = file.complete()
    except _Stopped:
        raise
    except BaseException:
        file.abort()
        raise
    return rows, size, truncated
