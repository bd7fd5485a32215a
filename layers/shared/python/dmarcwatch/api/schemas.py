"""Request and response models of the API (the OpenAPI spec is generated from these)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field, model_validator

from dmarcwatch.models import ApiKey, Domain, iso

T = TypeVar("T")


class Meta(BaseModel):
    request_id: str | None = None


class ListMeta(Meta):
    limit: int | None = None
    next_cursor: str | None = None
    next: str | None = None
    total_count: int | None = None


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta = Field(default_factory=Meta)


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str | None = None
    details: list[dict[str, object]] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    error: ErrorBody


# --- meta and account ---------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: str
    version: str


class CallerOut(BaseModel):
    account_id: str
    environment: str
    key_id: str
    plan: str


class EndpointOut(BaseModel):
    method: str
    path: str
    auth: bool


class IndexOut(BaseModel):
    name: str
    version: str
    caller: CallerOut
    endpoints: list[EndpointOut]


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
    plan: PlanOut
    usage: UsageOut


# --- keys ---------------------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        default=365,
        ge=1,
        le=3650,
        description="Days until the key expires; null for a key that never expires.",
    )


class KeyOut(BaseModel):
    id: str
    name: str
    environment: str
    prefix: str
    created_at: str | None
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None
    status: str

    @classmethod
    def of(cls, key: ApiKey, status: str) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            environment=key.environment.value,
            prefix=key.prefix,
            created_at=iso(key.created_at),
            last_used_at=iso(key.last_used_at),
            expires_at=iso(key.expires_at),
            revoked_at=iso(key.revoked_at),
            status=status,
        )


class KeyCreated(KeyOut):
    key: str = Field(description="The full API key. It is shown only in this response; store it now.")


# --- domains ------------------------------------------------------------------------------------------


class DomainCreate(BaseModel):
    domain: str | None = Field(default=None, max_length=1000)
    domains: list[str] | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_of(self) -> DomainCreate:
        if (self.domain is None) == (self.domains is None):
            raise ValueError("send either 'domain' (one name) or 'domains' (a list of up to 500)")
        if self.domains is not None and not self.domains:
            raise ValueError("'domains' must not be empty")
        return self


class DomainOut(BaseModel):
    id: str
    domain: str
    unicode_domain: str
    status: str
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, domain: Domain) -> DomainOut:
        return cls(
            id=domain.id,
            domain=domain.name,
            unicode_domain=domain.unicode_name,
            status=domain.status.value,
            created_at=iso(domain.created_at),
            updated_at=iso(domain.updated_at),
        )


class InvalidDomainOut(BaseModel):
    domain: str
    reason: str
    message: str


class DomainDeleted(BaseModel):
    id: str
    domain: str
    deleted: bool


class BulkAddOut(BaseModel):
    submitted: int
    added: int
    existing: int
    duplicates: int
    invalid: int
    domains: list[DomainOut]
    existing_domains: list[str]
    invalid_domains: list[InvalidDomainOut]
