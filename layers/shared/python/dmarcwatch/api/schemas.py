"""The API's envelopes: `{"data": ..., "meta": ...}`, lists with paging meta, and the error envelope.

Each endpoint group's own models live in `<group>_schemas.py`, so a Lambda imports only its group's.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

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


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str = Field(description="Where the problem is, e.g. query.limit, domain, cursor or body")
    issue: str | None = None
    message: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(description="invalid_api_key, key_expired, forbidden, not_found, validation_error, …")
    message: str
    request_id: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    error: ErrorBody
