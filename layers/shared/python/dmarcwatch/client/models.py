"""The client's own models of the resources whose API models live beside FastAPI and boto3.

`dmarcwatch.api.domain_schemas`, `portfolio_schemas` and `account_schemas` import the services (and so
boto3), which a client installed on a laptop should not load; these restate their fields, and
`tests/unit/test_client_models.py` fails when the two disagree. The light API models (envelopes, errors,
exports, reports) are imported from `dmarcwatch.api` as they are. Unknown fields are kept (`extra`), so a
newer server's additions still reach `--json` output.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from dmarcwatch.api.report_schemas import Counts


class ClientModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class Verification(ClientModel):
    verified: bool
    verified_at: str | None
    record_name: str
    record_value: str


class Domain(ClientModel):
    """A domain as lists show it (timestamps are ISO 8601 strings, as the API sends them)."""

    id: str
    domain: str
    unicode_domain: str
    status: str
    created_at: str | None
    updated_at: str | None
    verification: Verification
    email_gateway: str | None
    dmarc_status: str | None
    spf_status: str | None
    last_scan_at: str | None
    next_scan_at: str | None
    dmarc_policy_p: str | None
    spf: str | None
    scanned_at: str | None
    added_at: str | None
    folder_id: str | None
    is_favorite: bool
    tags: list[str]
    custom_label: str | None


class Change(ClientModel):
    id: str
    domain_name: str
    field_name: str
    old_value: str | None
    new_value: str | None
    detected_at: str


class DomainDetail(Domain):
    tld: str | None
    notes: str | None
    first_seen: str | None
    last_scanned: str | None
    scan_count: int
    scan_result: dict[str, Any] | None
    change_history: list[Change]
    stats_30d: Counts
    whois: dict[str, Any] | None


class InvalidDomain(ClientModel):
    domain: str
    reason: str
    message: str


class BulkAddResult(ClientModel):
    submitted: int
    added: int
    existing: int
    duplicates: int
    invalid: int
    scans_queued: int
    domains: list[Domain]
    existing_domains: list[str]
    invalid_domains: list[InvalidDomain]


class BulkUpdateResult(ClientModel):
    submitted: int
    updated: int
    unchanged: int
    not_found: int
    failed: int
    not_found_ids: list[str]
    failed_ids: list[str]


class DomainDeleted(ClientModel):
    id: str
    domain: str
    deleted: bool
    status: str
    restorable_until: str | None


class Folder(ClientModel):
    id: str
    name: str
    domain_count: int
    created_at: str | None
    updated_at: str | None


class FolderDeleted(ClientModel):
    id: str
    deleted: bool
    domains_unfiled: int


class Tag(ClientModel):
    tag: str
    count: int


class Share(ClientModel):
    count: int
    percentage: float


class GatewayShare(Share):
    gateway_name: str


class DmarcDistribution(ClientModel):
    reject: Share
    quarantine: Share
    none: Share
    missing: Share


class SpfStatusCounts(ClientModel):
    valid: int
    over_limit: int
    missing: int
    invalid: int
    error: int


class ScanFreshness(ClientModel):
    scanned_last_24h: int
    scanned_last_7d: int
    percentage_24h: float
    percentage_7d: float


class RecentChange(Change):
    domain_id: str


class DashboardSummary(ClientModel):
    total_domains: int
    email_gateway_distribution: list[GatewayShare]
    dmarc_distribution: DmarcDistribution
    spf_status: SpfStatusCounts
    scan_freshness: ScanFreshness
    recent_changes: list[RecentChange]
    needs_attention_count: int
    messages_30d: int
    pass_rate_30d: float | None
    expiring_30d: int


class ApiKey(ClientModel):
    """A key as GET /keys lists it (never its secret)."""

    id: str
    name: str
    environment: str
    prefix: str
    scope: str
    created_at: str | None
    created_by_key_id: str | None
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None
    is_active: bool
    status: str
