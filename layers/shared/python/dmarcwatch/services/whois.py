"""A domain's WHOIS as the API shows it (`GET /v1/domains/{id}/whois`, and `whois` in the domain detail),
and a tenant's refresh (`POST /v1/domains/{id}/refresh_whois`).

The view holds seed 002's WHOIS fields plus what only a reader's clock can say: `days_to_expiry` and
`warnings` are computed at read time from the stored expiry date, so a record fetched days ago still
counts down. `ip_geolocation` is the domain's first A record as the latest DNS scan located it.

Refresh cooldown (like `refresh_dns`, `scanning.on_demand`): one refresh per domain per
`REFRESH_COOLDOWN`, claimed with a conditional write on the WHOIS item. Within it nothing is queued and
the call still succeeds (`queued: false`, `reason: cooldown`, `retry_after`): every RDAP lookup costs a
registry's rate limit, and a client calling again sooner could get nothing fresher.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from dmarcwatch.dns.result import ScanResult
from dmarcwatch.models import Domain, Tenant, iso, utcnow
from dmarcwatch.services import domains
from dmarcwatch.store import scans as scan_store
from dmarcwatch.store import whois as whois_store
from dmarcwatch.whois.queueing import pending_state, queue_refresh
from dmarcwatch.whois_record import WhoisRecord, WhoisState, WhoisStatus, days_to_expiry, expiry_warnings

REFRESH_COOLDOWN = timedelta(minutes=10)
_COOLDOWN_MINUTES = int(REFRESH_COOLDOWN.total_seconds() // 60)


class IpGeolocation(BaseModel):
    ip: str | None = Field(description="The domain's first A record (latest DNS scan)")
    country: str | None = Field(description="ISO 3166 country of that address")
    as_org: str | None = Field(description="The network (AS organisation) it belongs to")


class WhoisView(BaseModel):
    """Registration data of a domain (RDAP), seed 002's WHOIS fields and the lookup's state."""

    domain_id: str
    domain_name: str
    registrar: str | None
    registrar_iana_id: str | None = Field(description="The registrar's IANA id, when RDAP gives one")
    registration_date: str | None
    expiry_date: str | None
    updated_date: str | None = Field(description="RDAP's `last changed` event")
    name_servers: list[str]
    registrant_name: str | None = Field(description="Often redacted: see privacy_enabled")
    registrant_org: str | None
    registrant_country: str | None
    registrant_state: str | None
    contact_email: str | None = Field(description="Registrant, else administrative, else technical contact")
    registrar_abuse_email: str | None
    registrar_abuse_phone: str | None
    privacy_enabled: bool = Field(
        description="The registrant is hidden: RDAP redacts registrant fields, or a privacy service is named"
    )
    privacy_reasons: list[str] = Field(description="`redacted` and/or the privacy service's name")
    dnssec_status: str | None = Field(description="signed or unsigned (the delegation, per the registry)")
    domain_statuses: list[str] = Field(description="EPP status codes, e.g. clientTransferProhibited")
    whois_status: WhoisStatus = Field(
        description="Outcome of the latest lookup: ok, pending, not_found, unsupported_tld, rate_limited or "
        "error"
    )
    whois_server: str | None = Field(description="The registry's port-43 WHOIS server")
    rdap_servers: list[str] = Field(description="The RDAP URLs that answered (registry, registrar)")
    ip_geolocation: IpGeolocation
    fetched_at: str | None = Field(description="When the data shown was retrieved (null before the first)")
    days_to_expiry: int | None = Field(description="Whole days until expiry_date; negative once expired")
    warnings: list[str] = Field(
        description="expired or expires_within_{30,14,7}_days / expires_within_1_day (the tightest), "
        "redemptionPeriod, pendingDelete"
    )
    last_refreshed_at: str | None = Field(description="When a lookup last ran, whatever its outcome")
    last_error: str | None = Field(description="Why the latest lookup failed (the data shown is older)")
    next_attempt_at: str | None = Field(description="After rate limiting: not looked up again before")
    next_refresh_at: str | None = Field(description="When the weekly refresh looks it up next")


def _geolocation(tenant: Tenant, domain: Domain) -> IpGeolocation:
    found = scan_store.latest(tenant, domain.id)
    result = ScanResult.model_validate(found.result) if found else None
    if result is None or not result.a:
        return IpGeolocation(ip=None, country=None, as_org=None)
    return IpGeolocation(ip=result.a[0], country=result.a_server_country, as_org=result.a_server_asn_org)


_DATES = ("registration_date", "expiry_date", "updated_date")


def _view(state: WhoisState, domain: Domain, geo: IpGeolocation, now: datetime) -> WhoisView:
    # Before the first successful lookup every registration field is empty (null, [] or false).
    record = state.record or WhoisRecord(domain_name=domain.name)
    return WhoisView(
        **record.model_dump(exclude=set(_DATES)),
        **{name: iso(getattr(record, name)) for name in _DATES},
        domain_id=domain.id,
        whois_status=state.status,
        ip_geolocation=geo,
        fetched_at=iso(state.fetched_at),
        days_to_expiry=days_to_expiry(state.record, now),
        warnings=expiry_warnings(state.record, now),
        last_refreshed_at=iso(state.last_refreshed_at),
        last_error=state.last_error,
        next_attempt_at=iso(state.next_attempt_at),
        next_refresh_at=iso(state.next_refresh_at),
    )


def latest(tenant: Tenant, domain: Domain, now: datetime | None = None) -> WhoisView | None:
    """The domain's WHOIS as of `now`; None when no lookup was ever arranged for it."""
    stored = whois_store.get(tenant, domain.id)
    if stored is None:
        return None
    return _view(stored.state, domain, _geolocation(tenant, domain), now or utcnow())


def whois(tenant: Tenant, domain_ref: str) -> WhoisView:
    """The WHOIS of the tenant's domain (id or name); a domain added before WHOIS existed is put on the
    schedule, due at once, and shown as pending."""
    domain = domains.resolve(tenant, domain_ref)
    now = utcnow()
    found = latest(tenant, domain, now)
    if found is not None:
        return found
    state = pending_state(domain.id, domain.name)
    whois_store.ensure_scheduled(tenant, [state], now)
    return _view(state, domain, _geolocation(tenant, domain), now)


class NotQueued(StrEnum):
    COOLDOWN = "cooldown"
    # No WHOIS queue (a bare local run): the scheduler looks it up on its next run.
    SCHEDULED = "scheduled"


class WhoisRefresh(BaseModel):
    domain_id: str
    queued: bool = Field(
        description=f"Whether a lookup was queued; false within the {_COOLDOWN_MINUTES}-minute cooldown "
        "after a refresh, or without a WHOIS queue"
    )
    reason: NotQueued | None = Field(
        description="Why nothing was queued: cooldown or scheduled; null when queued"
    )
    retry_after: int | None = Field(description="With reason cooldown: seconds until a refresh is allowed")


def refresh(tenant: Tenant, domain_ref: str) -> WhoisRefresh:
    domain = domains.resolve(tenant, domain_ref)
    now = utcnow()
    since = whois_store.claim_refresh(
        tenant, pending_state(domain.id, domain.name), now, now - REFRESH_COOLDOWN
    )
    if since is not None:
        wait = max(1, int((since + REFRESH_COOLDOWN - now).total_seconds() + 0.999))
        return WhoisRefresh(domain_id=domain.id, queued=False, reason=NotQueued.COOLDOWN, retry_after=wait)
    if queue_refresh(tenant, domain, now):
        return WhoisRefresh(domain_id=domain.id, queued=True, reason=None, retry_after=None)
    return WhoisRefresh(domain_id=domain.id, queued=False, reason=NotQueued.SCHEDULED, retry_after=None)
