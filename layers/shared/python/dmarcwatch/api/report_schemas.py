"""Response models of the report, statistics and quarantine endpoints (uploads and reprocessing too)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from dmarcwatch.models import IngestJob, QuarantineEntry, StoredReport, iso


class ReportOut(BaseModel):
    id: str
    kind: str
    domain_id: str
    domain: str
    org_name: str
    org_email: str | None
    external_report_id: str
    begin: str | None
    end: str | None
    received_at: str | None
    record_count: int
    message_count: int
    dmarc_pass_count: int
    pass_rate: float | None
    policy_published: dict[str, Any]
    summary: dict[str, Any]
    errors: list[str]
    source: str = Field(description="mail or upload")
    reporter_dkim_domain: str | None = Field(
        description="the DKIM signing domain the receiving mail server (SES) verified for the report's mail"
    )
    reporter_authenticated: bool | None = Field(
        description="true when SES verified a DKIM signature of the reporter's own domain; false when it "
        "did not; null when the path gives no verdict (uploads, the local SMTP stand-in)"
    )

    @classmethod
    def of(cls, report: StoredReport) -> ReportOut:
        return cls(
            id=report.id,
            kind=report.kind.value,
            domain_id=report.domain_id,
            domain=report.domain,
            org_name=report.org_name,
            org_email=report.org_email,
            external_report_id=report.external_report_id,
            begin=iso(report.begin),
            end=iso(report.end),
            received_at=iso(report.received_at),
            record_count=report.record_count,
            message_count=report.message_count,
            dmarc_pass_count=report.dmarc_pass_count,
            pass_rate=round(report.dmarc_pass_count / report.message_count, 4)
            if report.message_count
            else None,
            policy_published=report.policy_published,
            summary=report.summary,
            errors=report.errors,
            source=report.source,
            reporter_dkim_domain=report.reporter_dkim_domain,
            reporter_authenticated=report.reporter_authenticated,
        )


class ReportDetailOut(ReportOut):
    records: list[dict[str, Any]] = Field(
        description="source_ip with its hostname, country, org and known_sender, count, disposition, "
        "dkim_aligned, spf_aligned, dmarc_pass, header_from, envelope_from, envelope_to, override_reasons, "
        "dkim and spf auth results (TLS reports: the policies)"
    )
    records_offset: int
    records_next_cursor: str | None


class RawDownloadOut(BaseModel):
    report_id: str
    raw_url: str = Field(description="The mail (or uploaded file) as received")
    payload_url: str = Field(description="The parsed report as stored")
    expires_in: int = Field(description="Seconds the links stay valid")

    @classmethod
    def of(cls, links: dict[str, Any]) -> RawDownloadOut:
        return cls.model_validate(links)


class QuarantineOut(BaseModel):
    id: str
    reason: str
    message: str
    location: str | None
    domain: str | None
    org_name: str | None
    external_report_id: str | None
    created_at: str | None
    reprocessed_at: str | None
    resolved: bool

    @classmethod
    def of(cls, entry: QuarantineEntry) -> QuarantineOut:
        return cls(
            id=entry.id,
            reason=entry.reason,
            message=entry.message,
            location=entry.location,
            domain=entry.domain,
            org_name=entry.org_name,
            external_report_id=entry.external_report_id,
            created_at=iso(entry.created_at),
            reprocessed_at=iso(entry.reprocessed_at),
            resolved=entry.resolved,
        )


class UploadQuarantined(BaseModel):
    id: str
    reason: str
    message: str


class UploadOut(BaseModel):
    """An upload or a reprocessing run: queued at once (202), done by the parser worker."""

    id: str
    kind: Literal["upload", "reprocess"]
    status: Literal["pending", "stored", "duplicate", "quarantined"] = Field(
        description="pending until the worker is done; then stored (report_ids), duplicate (every report "
        "was stored before) or quarantined (with the reasons)"
    )
    size_bytes: int
    quarantine_id: str | None
    created_at: str | None
    finished_at: str | None
    report_ids: list[str]
    duplicate_report_ids: list[str]
    quarantined: list[UploadQuarantined]
    status_url: str

    @classmethod
    def of(cls, job: IngestJob) -> UploadOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status.value,
            size_bytes=job.size_bytes,
            quarantine_id=job.quarantine_id,
            created_at=iso(job.created_at),
            finished_at=iso(job.finished_at),
            report_ids=job.report_ids,
            duplicate_report_ids=job.duplicate_report_ids,
            quarantined=[UploadQuarantined.model_validate(q) for q in job.quarantined],
            status_url=f"/v1/uploads/{job.id}",
        )


class ReprocessOut(BaseModel):
    entry: QuarantineOut
    job: UploadOut


class Counts(BaseModel):
    messages: int
    dmarc_pass: int
    dmarc_fail: int
    spf_aligned_pass: int
    dkim_aligned_pass: int
    disposition_none: int
    disposition_quarantine: int
    disposition_reject: int
    pass_rate: float | None
    spf_pass_rate: float | None
    dkim_pass_rate: float | None


class DayStats(Counts):
    date: str


class StatsOut(BaseModel):
    domain_id: str
    domain: str
    start_date: str
    end_date: str
    totals: Counts
    days: list[DayStats]


class SourceOut(Counts):
    ip: str
    hostname: str | None
    hostname_status: str
    base_domain: str | None
    org: str | None
    network: str | None
    country: str | None
    known_sender: str | None
    asn: int | None = Field(None, description="AS number (from the operator's ASN file; null without one)")
    as_org: str | None = Field(None, description="AS organisation (from the operator's ASN file)")
    region: str | None = Field(None, description="Region or state (from the operator's city file)")
    city: str | None = Field(None, description="City (from the operator's city file)")
    latitude: float | None = Field(None, description="From the operator's city file")
    longitude: float | None = Field(None, description="From the operator's city file")
