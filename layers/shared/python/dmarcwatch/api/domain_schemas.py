"""Request and response models of the domain endpoints (the DNS ones: `dns_schemas`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from dmarcwatch.api.dns_schemas import ScanResultsOut
from dmarcwatch.api.report_schemas import Counts
from dmarcwatch.domain_names import MAX_BULK
from dmarcwatch.models import Domain, iso
from dmarcwatch.services.whois import WhoisView


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
    status: str = Field(description="active, inactive, or removed (kept 30 days, see DELETE)")
    created_at: str | None
    updated_at: str | None
    verification: VerificationOut
    email_gateway: str | None = Field(description="From the latest scan; 'none' when no gateway was detected")
    dmarc_status: str | None = Field(description="reject, quarantine, none or missing (latest scan)")
    spf_status: str | None
    last_scan_at: str | None
    next_scan_at: str | None
    # Seed 002's list fields.
    dmarc_policy_p: str | None = Field(description="The DMARC policy in force (null when there is none)")
    spf: str | None = Field(description="The SPF record (latest scan)")
    scanned_at: str | None = Field(description="When the latest scan ran (= last_scan_at)")
    added_at: str | None = Field(description="When the domain was added (= created_at)")
    folder_id: str | None
    is_favorite: bool
    tags: list[str]
    custom_label: str | None

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
            dmarc_policy_p=domain.dmarc_status if domain.dmarc_status != "missing" else None,
            spf=domain.spf_record or None,
            scanned_at=iso(domain.last_scan_at),
            added_at=iso(domain.created_at),
            folder_id=domain.folder_id,
            is_favorite=domain.is_favorite,
            tags=domain.tags,
            custom_label=domain.custom_label,
            verification=VerificationOut(
                verified=domain.verified_at is not None,
                verified_at=iso(domain.verified_at),
                record_name=f"_dmarcwatch.{domain.name}",
                record_value=f"dmarcwatch-verification={domain.verification_token}",
            ),
        )


class ChangeOut(BaseModel):
    """A DNS change, in seed 002's names."""

    id: str
    domain_name: str
    field_name: str
    old_value: str | None
    new_value: str | None
    detected_at: str


class DomainDetailOut(DomainOut):
    tld: str | None = Field(description="The domain's public suffix (co.uk for example.co.uk), from the PSL")
    notes: str | None
    first_seen: str | None = Field(description="When the domain was first added to this environment")
    last_scanned: str | None = Field(description="When the latest scan ran")
    scan_count: int = Field(description="Scans recorded since the domain was added")
    scan_result: ScanResultsOut | None = Field(description="The latest scan; null before the first")
    change_history: list[ChangeOut] = Field(description="The last 100 DNS changes, newest first")
    stats_30d: Counts = Field(description="DMARC totals of the last 30 days (as GET /domains/{id}/stats)")
    whois: WhoisView | None = Field(
        description="Registration data (as GET /domains/{id}/whois); null before any"
    )


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
    status: str = Field(description="removed (restorable by adding it again) or purged")
    restorable_until: str | None = Field(description="When a removed domain and its data are purged")


class BulkAddOut(BaseModel):
    submitted: int
    added: int
    existing: int
    duplicates: int
    invalid: int
    scans_queued: int = Field(
        description="First scans of the added domains sent to the scan queue now (seed 002); the others "
        "are due on the schedule at once"
    )
    domains: list[DomainOut]
    existing_domains: list[str]
    invalid_domains: list[InvalidDomainOut]
