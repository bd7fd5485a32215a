"""Domain models shared by the store, the services and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from dmarcwatch.modeling import Model
from dmarcwatch.plans import PlanName


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(ts: datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z`, the API's timestamp format."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Environment(StrEnum):
    LIVE = "live"
    TEST = "test"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Account(Model):
    id: str
    email: str
    name: str | None = None
    plan: PlanName
    subscription_status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    created_at: datetime
    # Value of the account's API Gateway key (usageIdentifierKey); None in the local stack.
    gateway_key_id: str | None = None
    gateway_key_value: str | None = None
    # The local part of the account's rua address: `<token>@<reports domain>` (live) and
    # `<token>+test@<reports domain>` (test).
    inbound_token: str
    # Whether the account's live keys work (the operator grants it: `admin production-access`); test keys
    # always do. Accounts stored before the setting existed had working live keys: True.
    production_access: bool = True


class Tenant(Model):
    """Who a request acts for: one account in one environment."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    environment: Environment


class KeyScope(StrEnum):
    """What an API key may do. Each scope includes the ones before it: read < write < admin."""

    READ = "read"  # GET only
    WRITE = "write"  # every request except managing API keys
    ADMIN = "admin"  # everything, including listing, creating and revoking keys

    def allows(self, needed: KeyScope) -> bool:
        order = list(KeyScope)
        return order.index(self) >= order.index(needed)


class ApiKey(Model):
    id: str
    account_id: str
    environment: Environment
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # Keys stored before scopes existed could do everything, so a missing scope reads as admin.
    scope: KeyScope = KeyScope.ADMIN
    # The key that created this one over the API (None: issued by the operator's admin CLI). Revoking a
    # key revokes every key it created, directly or through them.
    created_by_key_id: str | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class DomainStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    # Deleted by the account: out of lists, counts and scans, its data kept REMOVED_KEPT_DAYS (adding the
    # name again restores it with its history), then purged.
    REMOVED = "removed"


class Domain(Model):
    id: str
    name: str
    unicode_name: str
    status: DomainStatus = DomainStatus.ACTIVE
    created_at: datetime
    updated_at: datetime
    # Ownership proof: TXT `dmarcwatch-verification=<token>` at the domain or at _dmarcwatch.<domain>.
    verification_token: str = ""
    verified_at: datetime | None = None
    # Summary of the latest scan, kept on the item for the list filters (None before the first scan).
    email_gateway: str | None = None
    dmarc_status: str | None = None
    spf_status: str | None = None
    last_scan_at: datetime | None = None
    next_scan_at: datetime | None = None
    # The portfolio fields the account sets (PATCH /domains/{id}); `rev` advances with every change of
    # them, the optimistic lock of the facet index (store.domain_fields).
    folder_id: str | None = None
    is_favorite: bool = False
    tags: list[str] = Field(default_factory=list)
    notes: str | None = None
    custom_label: str | None = None
    rev: int = 0
    spf_record: str | None = None
    removed_at: datetime | None = None
    # From the latest good WHOIS/RDAP answer: the dashboard counts domains expiring soon by it.
    registration_expires_at: datetime | None = None


class Folder(Model):
    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    domain_count: int = 0


# --- what ingestion stores ---------------------------------------------------------------------------


class ReportKind(StrEnum):
    AGGREGATE = "aggregate"
    TLSRPT = "tlsrpt"


class ReportStatus(StrEnum):
    # Written first with its records; the switch to complete is the commit point the API shows. The
    # statistics are applied after it (`aggregates_applied`), so they are never visible before their report.
    PENDING = "pending"
    COMPLETE = "complete"


class StoredReport(Model):
    id: str
    account_id: str
    environment: str
    kind: ReportKind
    status: ReportStatus = ReportStatus.PENDING
    domain_id: str
    domain: str
    org_name: str
    org_email: str | None = None
    external_report_id: str
    begin: datetime
    end: datetime
    received_at: datetime
    record_count: int
    message_count: int
    dmarc_pass_count: int = 0
    policy_published: dict[str, Any] = Field(default_factory=dict)
    # SMTP TLS reports: success/failure session totals.
    summary: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    raw_key: str
    payload_key: str
    record_chunks: int = 0
    # Index of the first record of each chunk (chunks are sized by bytes); empty for items written when
    # every chunk held RECORDS_PER_CHUNK records.
    chunk_starts: list[int] = Field(default_factory=list)
    # Items written before this flag existed had their statistics applied before completing.
    aggregates_applied: bool = True
    # The dashboard scopes (portfolio_metrics) of the domain when the report was first stored: its
    # statistics go to these scopes' counters too, the same on every retry.
    scopes: list[str] = Field(default_factory=list)
    # sha256 of the parsed report: part of the id, so a forged report with another's org and report id
    # cannot make the real one a "duplicate".
    content_hash: str = ""
    # How the report arrived ("mail", "upload") and what the receiving mail server verified of its sender
    # (SES's DKIM verdict and the DKIM signing domain; None when the path gives no verdict).
    source: str = "mail"
    reporter_dkim_domain: str | None = None
    reporter_authenticated: bool | None = None


class QuarantineEntry(Model):
    id: str
    # None: the mail could not be attributed to any account (operator's quarantine).
    account_id: str | None = None
    environment: str | None = None
    reason: str
    message: str
    location: str | None = None
    raw_key: str
    created_at: datetime
    domain: str | None = None
    org_name: str | None = None
    external_report_id: str | None = None
    reprocessed_at: datetime | None = None
    resolved: bool = False
    # The trusted envelope recipients (SES notification or the local SMTP server), kept for reprocessing.
    recipients: list[str] = Field(default_factory=list)


class IngestJobStatus(StrEnum):
    PENDING = "pending"
    STORED = "stored"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


class IngestJob(Model):
    """An upload over the API, or the reprocessing of a quarantined input, done by the parser worker."""

    id: str
    account_id: str
    environment: str
    kind: str  # "upload" | "reprocess"
    status: IngestJobStatus = IngestJobStatus.PENDING
    raw_key: str
    size_bytes: int = 0
    quarantine_id: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    report_ids: list[str] = Field(default_factory=list)
    duplicate_report_ids: list[str] = Field(default_factory=list)
    quarantined: list[dict[str, str]] = Field(default_factory=list)


# The counters of a daily statistics item and of a source item.
COUNTERS = (
    "messages",
    "dmarc_pass",
    "dmarc_fail",
    "spf_aligned_pass",
    "dkim_aligned_pass",
    "disposition_none",
    "disposition_quarantine",
    "disposition_reject",
)


@dataclass
class Counters:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def add(self, other: dict[str, int]) -> None:
        for name, value in other.items():
            self.values[name] += value
