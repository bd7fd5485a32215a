"""Reading reports, statistics, sources and quarantine for the API; uploads and reprocessing."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dmarcwatch.enrich import ipinfo
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ids import IdPrefix, has_prefix, new_id
from dmarcwatch.ingest.messages import IngestRequest
from dmarcwatch.ingest.reasons import Reason
from dmarcwatch.models import (
    COUNTERS,
    IngestJob,
    QuarantineEntry,
    ReportKind,
    ReportStatus,
    StoredReport,
    Tenant,
    utcnow,
)
from dmarcwatch.services import domains
from dmarcwatch.store import blobs, ingest_jobs, queues
from dmarcwatch.store import reports as store

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_RANGE_DAYS = 366
SOURCE_RANGES = {"48h": 2, "7d": 7, "30d": 30}


def parse_day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(value, field)
    except ValueError:
        return _bad_date(value, field)


def _bad_date(value: str, field: str) -> date:
    raise ApiError(
        ErrorCode.INVALID_DATE,
        f"{field} must be a date as YYYY-MM-DD",
        details=[{"field": field, "issue": "invalid_date", "value": value[:40]}],
    )


def date_range(start: str | None, end: str | None, default_days: int) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    end_day = parse_day(end, "end_date") or today
    start_day = parse_day(start, "start_date") or end_day - timedelta(days=default_days - 1)
    if start_day > end_day:
        raise ApiError(
            ErrorCode.INVALID_DATE, "start_date is after end_date", details=[{"field": "start_date"}]
        )
    if (end_day - start_day).days >= MAX_RANGE_DAYS:
        raise ApiError(ErrorCode.INVALID_DATE, f"a range spans at most {MAX_RANGE_DAYS} days")
    return start_day, end_day


def days_between(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


# --- reports ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """The report list's filters, resolved: what `store.list_reports` and `store.count_reports` take."""

    start: str | None
    end: str | None
    filters: dict[str, str]
    received_after: datetime | None
    received_before: datetime | None

    @property
    def unfiltered(self) -> bool:
        bounds = (self.start, self.end, self.received_after, self.received_before)
        return not self.filters and all(bound is None for bound in bounds)


def count_reports(tenant: Tenant, wanted: ReportFilters) -> int:
    """The total a listing holds: the tenant's report counter when unfiltered, else a COUNT query on the
    same index."""
    if wanted.unfiltered:
        return store.report_count(tenant)
    return store.count_reports(
        tenant,
        start=wanted.start,
        end=wanted.end,
        filters=wanted.filters,
        received_after=wanted.received_after,
        received_before=wanted.received_before,
    )


def report_filters(
    tenant: Tenant,
    *,
    domain_id: str | None,
    domain: str | None,
    sender_org: str | None,
    start_date: str | None,
    end_date: str | None,
    kind: str | None,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
) -> ReportFilters:
    filters: dict[str, str] = {}
    if domain_id:
        filters["domain_id"] = domains.resolve(tenant, domain_id).id
    if domain:
        filters["domain"] = domain.strip().lower()
    if sender_org:
        filters["org_name_lc"] = sender_org.strip().lower()
    if kind:
        filters["kind"] = kind
    start = parse_day(start_date, "start_date")
    end = parse_day(end_date, "end_date")
    return ReportFilters(
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
        filters=filters,
        received_after=received_after,
        received_before=received_before,
    )


def list_matching(
    tenant: Tenant, wanted: ReportFilters, *, limit: int, after: str | None
) -> tuple[list[StoredReport], str | None]:
    return store.list_reports(
        tenant,
        limit=limit,
        start=wanted.start,
        end=wanted.end,
        filters=wanted.filters,
        after=after,
        received_after=wanted.received_after,
        received_before=wanted.received_before,
    )


def get_report(tenant: Tenant, report_id: str) -> StoredReport:
    report = store.get_report(tenant, report_id)
    if report is None or report.status != ReportStatus.COMPLETE:
        raise not_found("report")
    return report


def _chunk_of(report: StoredReport, offset: int) -> tuple[int, int]:
    """(chunk index, first record index of that chunk) holding record `offset`."""
    if not report.chunk_starts:  # chunks of a fixed size (items written before byte-sized chunks)
        index = offset // store.RECORDS_PER_CHUNK
        return index, index * store.RECORDS_PER_CHUNK
    index = bisect_right(report.chunk_starts, offset) - 1
    return index, report.chunk_starts[index]


def report_records(tenant: Tenant, report: StoredReport, offset: int, limit: int) -> list[dict[str, Any]]:
    """Records [offset, offset + limit), read from the chunks that hold them."""
    rows: list[dict[str, Any]] = []
    index, first = _chunk_of(report, offset)
    skip = offset - first
    while len(rows) < limit and index < report.record_chunks:
        chunk = store.get_record_chunk(tenant, report.id, index)
        rows.extend(chunk[skip : skip + limit - len(rows)])
        skip = 0
        index += 1
    if report.kind == ReportKind.AGGREGATE and rows:
        info = ipinfo.lookup([row["source_ip"] for row in rows])
        rows = [
            {
                **row,
                "hostname": info[row["source_ip"]].hostname,
                "country": info[row["source_ip"]].country,
                "org": info[row["source_ip"]].org,
                "known_sender": info[row["source_ip"]].known_sender,
            }
            for row in rows
        ]
    return rows


def raw_download(tenant: Tenant, report_id: str) -> dict[str, Any]:
    report = get_report(tenant, report_id)
    expires = 300
    return {
        "report_id": report.id,
        "raw_url": blobs.presigned_url(report.raw_key, expires),
        "payload_url": blobs.presigned_url(report.payload_key, expires),
        "expires_in": expires,
    }


def upload(tenant: Tenant, body: bytes) -> IngestJob:
    """Keep the upload in the raw bucket and queue it for the parser worker (202: review M5)."""
    if not body:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR, "the request body is empty: send the report file or the raw mail"
        )
    if len(body) > MAX_UPLOAD_BYTES:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
    now = utcnow()
    job_id = new_id(IdPrefix.UPLOAD)
    key = f"inbound/api/{tenant.account_id}/{tenant.environment.value}/{now:%Y/%m/%d}/{job_id}"
    blobs.put_raw(key, body, {"source": "api-upload"})
    return _queue_job(tenant, "upload", key, now, job_id=job_id, size=len(body))


def _queue_job(
    tenant: Tenant,
    kind: str,
    raw_key: str,
    now: datetime,
    *,
    job_id: str | None = None,
    size: int = 0,
    quarantine_id: str | None = None,
) -> IngestJob:
    job = IngestJob(
        id=job_id or new_id(IdPrefix.UPLOAD),
        account_id=tenant.account_id,
        environment=tenant.environment.value,
        kind=kind,
        raw_key=raw_key,
        size_bytes=size,
        quarantine_id=quarantine_id,
        created_at=now,
    )
    ingest_jobs.put_job(job)
    request = IngestRequest(
        job_id=job.id,
        account_id=job.account_id,
        environment=job.environment,
        raw_key=raw_key,
        quarantine_id=quarantine_id,
    )
    queues.send_ingest_request(request.model_dump_json())
    return job


def get_job(tenant: Tenant, job_id: str) -> IngestJob:
    job = ingest_jobs.get_job(tenant, job_id) if has_prefix(job_id, IdPrefix.UPLOAD) else None
    if job is None:
        raise not_found("upload")
    return job


# --- statistics and sources ---------------------------------------------------------------------------


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    messages = row["messages"]

    def rate(name: str) -> float | None:
        return round(row[name] / messages, 4) if messages else None

    return {
        **row,
        "pass_rate": rate("dmarc_pass"),
        "spf_pass_rate": rate("spf_aligned_pass"),
        "dkim_pass_rate": rate("dkim_aligned_pass"),
    }


def daily_statistics(
    tenant: Tenant, domain_ref: str, start_date: str | None, end_date: str | None
) -> dict[str, Any]:
    domain = domains.resolve(tenant, domain_ref)
    start, end = date_range(start_date, end_date, 30)
    found = {
        row["day"]: row for row in store.daily_stats(tenant, domain.id, start.isoformat(), end.isoformat())
    }
    days = []
    totals = dict.fromkeys(COUNTERS, 0)
    for day in days_between(start, end):
        row = found.get(day) or dict.fromkeys(COUNTERS, 0)
        for name in COUNTERS:
            totals[name] += row[name]
        days.append(_rates({"date": day, **{name: row[name] for name in COUNTERS}}))
    return {
        "domain_id": domain.id,
        "domain": domain.name,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "totals": _rates(totals),
        "days": days,
    }


# The merged ranking of a domain's sources over a range is kept for this long, and pages of one listing
# read the ranking their first page made (review M4: a page no longer re-reads every source item).
SNAPSHOT_SECONDS = 300


def sources(
    tenant: Tenant,
    domain_ref: str,
    range_name: str | None,
    day: str | None,
    snapshot: str | None = None,
) -> dict[str, Any]:
    """The domain's sources by volume over a range or a day, from the listing's snapshot when it has one.

    `snapshot` is the id a first page returned (pages of one listing share it); a new listing uses the
    current five-minute window's snapshot, computing it if no one has yet.
    """
    domain = domains.resolve(tenant, domain_ref)
    if day is not None:
        one = parse_day(day, "date")
        assert one is not None
        start = end = one
    else:
        span = SOURCE_RANGES.get(range_name or "7d")
        if span is None:
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                "range must be one of 48h, 7d, 30d",
                details=[{"field": "range", "issue": "invalid"}],
            )
        end = datetime.now(UTC).date()
        start = end - timedelta(days=span - 1)
    snapshot = snapshot or str(int(datetime.now(UTC).timestamp()) // SNAPSHOT_SECONDS)
    key = (
        f"cache/sources/{tenant.account_id}/{tenant.environment.value}/{domain.id}/"
        f"{start.isoformat()}_{end.isoformat()}_{snapshot}.json.gz"
    )
    ranked = blobs.get_snapshot(key)
    if ranked is None:
        ranked = _rank_sources(tenant, domain.id, start, end)
        blobs.put_snapshot(key, ranked)
    return {
        "domain_id": domain.id,
        "domain": domain.name,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "snapshot": snapshot,
        "sources": ranked,
    }


def _rank_sources(tenant: Tenant, domain_id: str, start: date, end: date) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for row in store.sources_for_days(tenant, domain_id, days_between(start, end)):
        for name in COUNTERS:
            merged[row["ip"]][name] += row[name]
    ordered = sorted(merged.items(), key=lambda item: (-item[1]["messages"], item[0]))
    return [{"ip": ip, **_rates(counts)} for ip, counts in ordered]


def enrich_sources(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    info = ipinfo.lookup([row["ip"] for row in rows])
    return [{**row, **info[row["ip"]].model_dump(exclude={"ip", "offline_version"})} for row in rows]


# --- quarantine ---------------------------------------------------------------------------------------


def list_quarantine(
    tenant: Tenant, limit: int, after: str | None
) -> tuple[list[QuarantineEntry], str | None]:
    return store.list_quarantine(tenant, limit=limit, after=after)


def reprocess(tenant: Tenant, quarantine_id: str) -> tuple[QuarantineEntry, IngestJob]:
    """Queue a quarantined input of the tenant to run again, for that tenant only (202)."""
    entry = store.get_quarantine(tenant, quarantine_id)
    if entry is None:
        raise not_found("quarantine entry")
    if entry.reason == Reason.VIRUS:
        raise ApiError(ErrorCode.CONFLICT, "a mail the receiving server found a virus in is never opened")
    job = _queue_job(tenant, "reprocess", entry.raw_key, utcnow(), quarantine_id=entry.id)
    return entry, job
