"""FastAPI dependencies: the authenticated principal (with rate limiting and key scopes) and input types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from dmarcwatch.api.context import client_ip
from dmarcwatch.auth import ratelimit
from dmarcwatch.auth.principal import Principal, authenticate, bearer_token
from dmarcwatch.config import get_settings
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import KeyScope

# Methods that change nothing: the only ones a `read` key may call.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _authenticate_and_count(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    try:
        principal = authenticate(token)
    except ApiError as error:
        if error.code in (
            ErrorCode.INVALID_API_KEY,
            ErrorCode.KEY_EXPIRED,
        ) and not ratelimit.count_failed_auth(client_ip(request), get_settings().unauthenticated_per_minute):
            raise ApiError(
                ErrorCode.RATE_LIMIT_EXCEEDED,
                "too many failed authentication attempts from this address",
                headers={"Retry-After": str(ratelimit.retry_after_minute())},
            ) from error
        raise
    status = ratelimit.check_and_count(principal.account.id, principal.plan)
    request.state.rate_headers = status.headers()
    request.state.calls_today = status.quota_used
    needed = KeyScope.READ if request.method in _SAFE_METHODS else KeyScope.WRITE
    _require(principal, needed, f"{request.method} needs a key with the write or admin scope")
    return principal


def _require(principal: Principal, needed: KeyScope, message: str) -> None:
    if not principal.key.scope.allows(needed):
        raise ApiError(ErrorCode.FORBIDDEN, f"this key has the {principal.key.scope.value} scope: {message}")


async def current_principal(request: Request) -> Principal:
    """The caller, counted against its limits; a `read` key gets 403 forbidden on every mutation."""
    # The checks make blocking DynamoDB calls: keep them off the event loop.
    return await run_in_threadpool(_authenticate_and_count, request)


async def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if its key has the admin scope (the only one that may manage API keys)."""
    _require(principal, KeyScope.ADMIN, "only an admin key may list, create or revoke API keys")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 25, at most 1,000)")]
Day = Annotated[str | None, Query(description="YYYY-MM-DD", max_length=10)]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
# Path ids: an over-long one is a validation error, never a lookup.
DomainRef = Annotated[str, Path(max_length=253, description="The domain's id (dom_…) or its name")]
KeyId = Annotated[str, Path(max_length=64, description="An API key id (key_…)")]
ReportId = Annotated[str, Path(max_length=64, description="A report id (rpt_…)")]
QuarantineId = Annotated[str, Path(max_length=64, description="A quarantine entry id (qtn_…)")]
