"""Request and response models of the account and key endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dmarcwatch.models import ApiKey, KeyScope, iso
from dmarcwatch.services.keys import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, MAX_ROTATION_GRACE_SECONDS


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
    production_access: bool = Field(
        description="Whether the live keys work; without it they answer 403 production_access_required"
    )
    inbound_address: str = Field(
        description="Your rua address: publish v=DMARC1; p=none; rua=mailto:<this address> at _dmarc.<domain>"
    )
    plan: PlanOut
    usage: UsageOut


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


class KeyUpdate(BaseModel):
    """PATCH /keys/{id}: what to change (at least one field; unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    expires_at: AwareDatetime | None = Field(
        default=None,
        description=f"New expiry (ISO 8601 with a zone): later than now, at most {MAX_EXPIRY_DAYS} days away",
    )

    @model_validator(mode="after")
    def _something(self) -> KeyUpdate:
        if self.name is None and self.expires_at is None:
            raise ValueError("give name, expires_at or both")
        return self


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=3600,
        ge=0,
        le=MAX_ROTATION_GRACE_SECONDS,
        description="How long the old secret keeps working (0: revoked at once; at most a day)",
    )
    expires_in_days: int = Field(default=DEFAULT_EXPIRY_DAYS, ge=1, le=MAX_EXPIRY_DAYS)


class KeyRotated(KeyCreated):
    replaced: KeyOut = Field(description="The key this one replaces, as it is now (expiring or revoked)")
