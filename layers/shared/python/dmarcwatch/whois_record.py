"""A domain's registration data (WHOIS over RDAP) as stored, and what its expiry means at a given time.

A bottom-layer module: the store keeps `WhoisState` under the tenant, the RDAP worker fills it, the
services and the API read it. The expiry rules are pure functions of the record and `now`, so the API
computes `days_to_expiry` and `warnings` at read time (a record fetched a week ago still counts down)
and tests pass a frozen clock.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from dmarcwatch.modeling import Model

# Days before expiry at which a warning starts and a `domain.expiring` event is sent, widest first.
EXPIRY_THRESHOLDS: tuple[int, ...] = (30, 14, 7, 1)

# EPP status codes (RFC 5731, RFC 3915) that put the name at risk; each is its own warning.
RISKY_STATUSES: tuple[str, ...] = ("redemptionPeriod", "pendingDelete")


class WhoisStatus(StrEnum):
    """The outcome of the latest lookup (the data shown may be older: `last_error` says why)."""

    OK = "ok"
    # Never looked up yet, or a lookup is queued.
    PENDING = "pending"
    # The registry's RDAP service has no such domain (404).
    NOT_FOUND = "not_found"
    # The IANA bootstrap names no (https) RDAP service for the TLD.
    UNSUPPORTED_TLD = "unsupported_tld"
    # The registry (or our per-server budget) asked us to wait; tried again at `next_attempt_at`.
    RATE_LIMITED = "rate_limited"
    # Timeout, unreadable answer, server error, refused endpoint, no bootstrap data.
    ERROR = "error"


class WhoisRecord(Model):
    """What RDAP said of the domain (registry answer overlaid with the registrar's)."""

    domain_name: str
    registrar: str | None = None
    registrar_iana_id: str | None = None
    registration_date: datetime | None = None
    expiry_date: datetime | None = None
    updated_date: datetime | None = None
    name_servers: list[str] = Field(default_factory=list)
    registrant_name: str | None = None
    registrant_org: str | None = None
    registrant_country: str | None = None
    registrant_state: str | None = None
    contact_email: str | None = None
    registrar_abuse_email: str | None = None
    registrar_abuse_phone: str | None = None
    privacy_enabled: bool = False
    # Why privacy_enabled is true: "redacted" (RFC 9537 members) and/or the privacy service's name.
    privacy_reasons: list[str] = Field(default_factory=list)
    dnssec_status: str | None = None
    # EPP status codes (`clientTransferProhibited`), converted from RDAP's spelling (RFC 8056).
    domain_statuses: list[str] = Field(default_factory=list)
    # The port-43 WHOIS server the registry names, and the RDAP URLs answered (registry, registrar).
    whois_server: str | None = None
    rdap_servers: list[str] = Field(default_factory=list)


class ExpiryNotice(Model):
    """The tightest threshold a `domain.expiring` event was sent for, for one expiry date: a renewal (a
    new expiry date) starts the countdown again."""

    expiry_date: datetime
    threshold_days: int


class WhoisState(Model):
    """The stored WHOIS of one monitored domain: the last good record and how the latest lookup went."""

    domain_id: str
    domain: str
    status: WhoisStatus = WhoisStatus.PENDING
    record: WhoisRecord | None = None
    # When `record` was fetched (the last successful lookup).
    fetched_at: datetime | None = None
    # When a lookup last ran, whatever its outcome.
    last_refreshed_at: datetime | None = None
    last_error: str | None = None
    # After a 429 or a spent per-server budget: not before then.
    next_attempt_at: datetime | None = None
    # When the schedule refreshes it next.
    next_refresh_at: datetime | None = None
    expiry_notice: ExpiryNotice | None = None


def days_to_expiry(record: WhoisRecord | None, now: datetime) -> int | None:
    """Whole days left until expiry (negative once expired; 0 on the last day); None without a date."""
    if record is None or record.expiry_date is None:
        return None
    seconds = (record.expiry_date - now).total_seconds()
    return int(seconds // 86400)


def threshold_reached(days: int | None) -> int | None:
    """The tightest of `EXPIRY_THRESHOLDS` that `days` is within (an expired name is within 1)."""
    if days is None:
        return None
    within = [threshold for threshold in EXPIRY_THRESHOLDS if days <= threshold]
    return min(within) if within else None


def expiry_warnings(record: WhoisRecord | None, now: datetime) -> list[str]:
    """`expired`, or the tightest `expires_within_<n>_days` reached, then the risky EPP statuses
    (`redemptionPeriod`, `pendingDelete`) the domain has."""
    warnings: list[str] = []
    days = days_to_expiry(record, now)
    threshold = threshold_reached(days)
    if days is not None and days < 0:
        warnings.append("expired")
    elif threshold is not None:
        warnings.append(f"expires_within_{threshold}_day{'s' if threshold > 1 else ''}")
    if record is not None:
        warnings.extend(status for status in RISKY_STATUSES if status in record.domain_statuses)
    return warnings
