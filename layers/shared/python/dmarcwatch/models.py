"""Domain models shared by the store, the services and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

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


class Account(BaseModel):
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


class Tenant(BaseModel):
    """Who a request acts for: one account in one environment."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    environment: Environment


class ApiKey(BaseModel):
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

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class DomainStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Domain(BaseModel):
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
