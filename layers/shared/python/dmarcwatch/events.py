"""Event types and their payloads, defined once: emitters, webhooks and the docs use this module."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from dmarcwatch.modeling import Model


class EventType(StrEnum):
    REPORT_RECEIVED = "report.received"
    REPORT_QUARANTINED = "report.quarantined"
    DOMAIN_SCAN_COMPLETED = "domain.scan.completed"
    DNS_CHANGED = "dns.changed"
    DOMAIN_VERIFIED = "domain.verified"
    DOMAIN_UNVERIFIED = "domain.unverified"
    DOMAIN_EXPIRING = "domain.expiring"
    EXPORT_COMPLETED = "export.completed"


class ReportReceived(Model):
    """A DMARC aggregate or SMTP TLS report was stored for one of the tenant's domains."""

    type: Literal[EventType.REPORT_RECEIVED] = EventType.REPORT_RECEIVED
    report_id: str
    kind: str
    domain_id: str
    domain: str
    org_name: str
    external_report_id: str
    begin: datetime
    end: datetime
    message_count: int
    record_count: int
    dmarc_pass_count: int


class ReportQuarantined(Model):
    """An input (mail or upload) could not be taken: kept in quarantine with the reason."""

    type: Literal[EventType.REPORT_QUARANTINED] = EventType.REPORT_QUARANTINED
    quarantine_id: str
    reason: str
    message: str


class DomainScanCompleted(Model):
    """A DNS scan of the domain was recorded; `changes` counts the fields that changed."""

    type: Literal[EventType.DOMAIN_SCAN_COMPLETED] = EventType.DOMAIN_SCAN_COMPLETED
    domain_id: str
    domain: str
    changes: int


class DnsChanged(Model):
    """One field of the domain's DNS changed between two scans (old and new value)."""

    type: Literal[EventType.DNS_CHANGED] = EventType.DNS_CHANGED
    domain_id: str
    domain: str
    field: str
    old: str | None
    new: str | None


class DomainVerified(Model):
    """The domain's ownership was proven (its verification token was found in the DNS)."""

    type: Literal[EventType.DOMAIN_VERIFIED] = EventType.DOMAIN_VERIFIED
    domain_id: str
    domain: str


class DomainUnverified(Model):
    """The domain's verification was withdrawn: its token is no longer published."""

    type: Literal[EventType.DOMAIN_UNVERIFIED] = EventType.DOMAIN_UNVERIFIED
    domain_id: str
    domain: str


class ExportCompleted(Model):
    """An export's file is ready: `GET /v1/exports/{export_id}` gives its download link."""

    type: Literal[EventType.EXPORT_COMPLETED] = EventType.EXPORT_COMPLETED
    export_id: str
    export_type: str
    dataset: str
    row_count: int
    file_size: int
    truncated: bool


class DomainExpiring(Model):
    """The registration expires within `threshold_days` (30, 14, 7 or 1): sent once per threshold and
    expiry date, so a renewal starts the countdown again."""

    type: Literal[EventType.DOMAIN_EXPIRING] = EventType.DOMAIN_EXPIRING
    domain_id: str
    domain: str
    expiry_date: datetime
    days_to_expiry: int
    threshold_days: int
    registrar: str | None


EventPayload = Annotated[
    ReportReceived
    | ReportQuarantined
    | DomainScanCompleted
    | DnsChanged
    | DomainVerified
    | DomainUnverified
    | ExportCompleted
    | DomainExpiring,
    Field(discriminator="type"),
]


class Event(Model):
    """The envelope every event travels in (event log item, queue message, webhook body)."""

    id: str
    account_id: str
    environment: str
    created_at: datetime
    payload: EventPayload
