"""Request and response models of the API (the OpenAPI spec is generated from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dmarcwatch.api.dns_schemas import ScanResultsOut
from dmarcwatch.domain_names import MAX_BULK
from dmarcwatch.models import ApiKey, Domain, IngestJob, KeyScope, QuarantineEntry, StoredReport, iso
from dmarcwatch.services.keys import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS

T = TypeVar("T")


class Meta(BaseModel):
    request_id: str | None = None


class ListMeta(Meta):
    limit: int | None = None
    next_cursor: str | None = None
    next: str | None = None
    total_count: int | None = None


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta = Field(default_factory=Meta)


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str = Field(description="Where the problem is, e.g. query.limit, domain, cursor or body")
    issue: str | None = None
    message: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(description="invalid_api_key, key_expired, forbidden, not_found, validation_error, …")
    message: str
    request_id: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    error: ErrorBody


# --- meta and account ---------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: str
    version: str


class CallerOut(BaseModel):
    account_id: str
    environment: str
    key_id: str
    scope: KeyScope
    plan: str


class EndpointOut(BaseModel):
    method: str
    path: str
    auth: bool


class IndexOut(BaseModel):
    name: str
    version: str
    caller: CallerOut
    endpoints: list[EndpointOut]


class PlanOut(BaseModel):
    name: str
    requests_per_minute: int
    requests_per_day: int | None = Field(description="null: unlimited")
    domains_allowed: int
    scan_interval_hours: int
    api_keys_per_environment: int


class UsageOut(BaseModel):
    domains: int
    domains_allowed: int
    api_calls_today: int
    reports_this_month: int


class AccountOut(BaseModel):
    id: str
    email: str
    name: str | None
    environment: str
    created_at: str | None
    subscription_status: str
    inbound_address: str = Field(
        description="Your rua address: publish v=DMARC1; p=none; rua=mailto:<this address> at _dmarc.<domain>"
    )
    plan: PlanOut
    usage: UsageOut


# --- keys ---------------------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int = Field(
        default=DEFAULT_EXPIRY_DAYS,
        ge=1,
        le=MAX_EXPIRY_DAYS,
        description=f"Days until the key expires, 1 to {MAX_EXPIRY_DAYS}: every key expires (no null)",
    )
    scope: KeyScope = Field(
        default=KeyScope.ADMIN,
        description="read: GET requests only; write: everything except managing keys; admin: everything",
    )


class KeyOut(BaseModel):
    id: str
    name: str
    environment: str
    prefix: str
    scope: KeyScope
    created_at: str | None
    created_by_key_id: str | None = Field(
        description="The key that created this one (null: issued by the operator). Revoking a key revokes "
        "the keys it created."
    )
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None
    is_active: bool
    status: Literal["active", "expired", "revoked"]

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> KeyOut:
        active = key.is_active(now)
        return cls(
            id=key.id,
            name=key.name,
            environment=key.environment.value,
            prefix=key.prefix,
            scope=key.scope,
            created_at=iso(key.created_at),
            created_by_key_id=key.created_by_key_id,
            last_used_at=iso(key.last_used_at),
            expires_at=iso(key.expires_at),
            revoked_at=iso(key.revoked_at),
            is_active=active,
            status="revoked" if key.revoked_at else "active" if active else "expired",
        )


class KeyCreated(KeyOut):
    key: str = Field(description="The full API key. It is shown only in this response; store it now.")


class KeyRevokedOut(KeyOut):
    cascaded_key_ids: list[str] = Field(
        description="The keys this key had created (directly or through them) that were revoked with it"
    )


# --- domains ------------------------------------------------------------------------------------------


class DomainCreate(BaseModel):
    domain: str | None = Field(default=None, max_length=1000)
    domains: list[str] | None = Field(default=None, max_length=MAX_BULK)

    @model_validator(mode="after")
    def _one_of(self) -> DomainCreate:
        if (self.domain is None) == (self.domains is None):
            raise ValueError(f"send either 'domain' (one name) or 'domains' (a list of up to {MAX_BULK})")
        if self.domains is not None and not self.domains:
            raise ValueError("'domains' must not be empty")
        return self


class VerificationOut(BaseModel):
    verified: bool
    verified_at: str | None
    record_name: str = Field(description="Publish TXT here (or at the domain itself)")
    record_value: str


class DomainOut(BaseModel):
    id: str
    domain: str
    unicode_domain: str
    status: str
    created_at: str | None
    updated_at: str | None
    verification: VerificationOut
    email_gateway: str | None = Field(description="From the latest scan; 'none' when no gateway was detected")
    dmarc_status: str | None = Field(description="reject, quarantine, none or missing (latest scan)")
    spf_status: str | None
    last_scan_at: str | None
    next_scan_at: str | None

    @classmethod
    def of(cls, domain: Domain) -> DomainOut:
        return cls(
            id=domain.id,
            domain=domain.name,
            unicode_domain=domain.unicode_name,
            status=domain.status.value,
            created_at=iso(domain.created_at),
            updated_at=iso(domain.updated_at),
            email_gateway=domain.email_gateway,
            dmarc_status=domain.dmarc_status,
            spf_status=domain.spf_status,
            last_scan_at=iso(domain.last_scan_at),
            next_scan_at=iso(domain.next_scan_at),
            verification=VerificationOut(
                verified=domain.verified_at is not None,
                verified_at=iso(domain.verified_at),
                record_name=f"_dmarcwatch.{domain.name}",
                record_value=f"dmarcwatch-verification={domain.verification_token}",
            ),
        )


class ChangeOut(BaseModel):
    id: str
    field: str
    old: str | None
    new: str | None
    detected_at: str


class DomainDetailOut(DomainOut):
    scan_result: ScanResultsOut | None = Field(description="The latest scan; null before the first")
    recent_changes: list[ChangeOut]


class VerifyOut(BaseModel):
    domain: DomainOut
    verified: bool
    status: str = Field(description="verified, already_verified, token_not_found or dns_error")
    detail: str


class InvalidDomainOut(BaseModel):
    domain: str
    reason: str
    message: str


class DomainDeleted(BaseModel):
    id: str
    domain: str
    deleted: bool


class BulkAddOut(BaseModel):
    submitted: int
    added: int
    existing: int
    duplicates: int
    invalid: int
    domains: list[DomainOut]
    existing_domains: list[str]
    invalid_domains: list[InvalidDomainOut]


# --- reports, statistics, quarantine -----------------------------------------------------------------


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
