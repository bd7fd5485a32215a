"""What ingestion stores: report metadata, quarantine entries, and the counter deltas it applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ReportKind(StrEnum):
    AGGREGATE = "aggregate"
    TLSRPT = "tlsrpt"


class ReportStatus(StrEnum):
    # Written first; aggregates are applied while pending; the switch to complete is the commit point.
    PENDING = "pending"
    COMPLETE = "complete"


class StoredReport(BaseModel):
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


class QuarantineEntry(BaseModel):
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
