"""Opaque, signed cursors bound to the tenant and the query (design.md §4).

A cursor is base64url(JSON) + "." + HMAC-SHA256. Changing a byte, replaying it for another tenant or
with other filters is rejected with 400, so a client cannot walk keys it was never given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import Tenant
from dmarcwatch.services.cursor_keys import cursor_secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fingerprint(tenant: Tenant, query: dict[str, Any]) -> str:
    material = json.dumps([tenant.account_id, tenant.environment.value, query], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _sign(payload: str) -> str:
    return _b64(hmac.new(cursor_secret(), payload.encode("ascii"), hashlib.sha256).digest())


def encode_cursor(tenant: Tenant, query: dict[str, Any], position: str) -> str:
    payload = _b64(
        json.dumps({"q": _fingerprint(tenant, query), "k": position}, separators=(",", ":")).encode()
    )
    return f"{payload}.{_sign(payload)}"


def _invalid() -> ApiError:
    return ApiError(
        ErrorCode.VALIDATION_ERROR,
        "invalid cursor: use the next_cursor of the previous page with the same filters",
        details=[{"field": "cursor", "issue": "invalid"}],
    )


def decode_cursor(tenant: Tenant, query: dict[str, Any], cursor: str) -> str:
    payload, _, signature = cursor.partition(".")
    if not payload or not signature or not hmac.compare_digest(_sign(payload), signature):
        raise _invalid()
    try:
        data = json.loads(_unb64(payload))
    except (ValueError, binascii.Error) as error:
        raise _invalid() from error
    if (
        not isinstance(data, dict)
        or data.get("q") != _fingerprint(tenant, query)
        or not isinstance(data.get("k"), str)
    ):
        raise _invalid()
    position: str = data["k"]
    return position
