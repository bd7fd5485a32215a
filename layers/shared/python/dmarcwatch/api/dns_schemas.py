"""Response models of the DNS endpoints: a scan, the latest result, the records to publish, a refresh.

They model what `services.dns_views` returns; a field the service adds reaches clients only once it is
modelled here (and docs/openapi.json is regenerated), so the published contract never drifts from it.
The full scan result is `dns.result.ScanResult` itself: one flat model for storage, diffs and the API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from dmarcwatch.dns.result import BimiInfo, DkimSelector, ScanResult
from dmarcwatch.scanning.on_demand import ON_DEMAND_COOLDOWN, NotQueued

_COOLDOWN_MINUTES = int(ON_DEMAND_COOLDOWN.total_seconds() // 60)


class DmarcSummaryOut(BaseModel):
    found: bool
    record: str | None
    policy: str | None = Field(description="p= of the domain's own record")
    policy_applied: str | None = Field(
        description="The policy that applies to mail from the domain: for a subdomain without its own "
        "record, the parent's sp (or np when the name does not exist)"
    )
    policy_source: str | None = Field(description="Where policy_applied comes from: own_record, sp, np or p")
    policy_domain: str | None = Field(description="The domain whose record holds policy_applied")
    status: str | None


class SpfSummaryOut(BaseModel):
    found: bool
    record: str | None
    valid: bool | None
    status: str | None
    dns_lookups: int | None = Field(description="DNS-querying terms counted against SPF's limit of 10")


class FieldChangeOut(BaseModel):
    field: str = Field(description="The result field, or dkim:<selector>")
    old: str | None
    new: str | None


class ScanOut(BaseModel):
    dmarc: DmarcSummaryOut
    spf: SpfSummaryOut
    changes: list[FieldChangeOut] = Field(description="What changed since the previous scan")
    result: ScanResult
    cached: bool = Field(
        description="true within the on-demand cooldown: nothing was scanned, this is the latest stored "
        "result (changes is then empty)"
    )
    next_scan_allowed_at: str = Field(
        description="When the next on-demand scan (scan or refresh_dns) of the domain is allowed"
    )

    @classmethod
    def of(cls, scan: dict[str, Any]) -> ScanOut:
        return cls.model_validate(scan)


class PreviousValueOut(BaseModel):
    value: str | None = Field(description="The value before its latest change (canonical text)")
    changed_at: str


class ScanResultsOut(BaseModel):
    result: ScanResult
    previous: dict[str, PreviousValueOut] = Field(
        description="For each field that ever changed: its previous value and when it changed"
    )
    scanned_at: str

    @classmethod
    def of(cls, latest: dict[str, Any]) -> ScanResultsOut:
        return cls.model_validate(latest)


class RefreshOut(BaseModel):
    domain_id: str
    queued: bool = Field(
        description=f"Whether a scan was queued; false within the {_COOLDOWN_MINUTES}-minute cooldown after "
        "an on-demand scan or refresh, while a request for the domain is queued already, or without a scan "
        "queue"
    )
    reason: NotQueued | None = Field(
        description="Why nothing was queued: cooldown, already_queued, or scheduled (no scan queue: the "
        "schedule scans the domain at once); null when queued"
    )
    retry_after: int | None = Field(description="With reason cooldown: seconds until a refresh is allowed")

    @classmethod
    def of(cls, refresh: dict[str, Any]) -> RefreshOut:
        return cls.model_validate(refresh)


class DmarcRecordOut(BaseModel):
    name: str
    found: str | None
    found_at: str | None = Field(description="Where the record that applies was found (maybe a parent's)")
    policy: str | None
    policy_applied: str | None
    policy_source: str | None
    recommended: str = Field(description="The record to publish, with your rua address")


class SpfRecordOut(BaseModel):
    name: str
    found: str | None
    status: str | None


class BimiRecordOut(BaseModel):
    name: str
    found: BimiInfo | None


class DnsRecordsOut(BaseModel):
    domain: str
    scanned_at: str | None = Field(description="The scan the found records come from; null before the first")
    dmarc: DmarcRecordOut
    spf: SpfRecordOut
    bimi: BimiRecordOut
    dkim: list[DkimSelector]

    @classmethod
    def of(cls, records: dict[str, Any]) -> DnsRecordsOut:
        return cls.model_validate(records)
