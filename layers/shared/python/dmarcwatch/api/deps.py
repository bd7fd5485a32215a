"""FastAPI dependencies: the authenticated principal (with rate limiting) and pagination input."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from dmarcwatch.api.context import client_ip
from dmarcwatch.auth import ratelimit
from dmarcwatch.auth.principal import Principal, authenticate, bearer_token
from dmarcwatch.config import get_settings
from dmarcwatch.errors import ApiError, ErrorCode


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
    return principal


async def current_principal(request: Request) -> Principal:
    # The checks make blocking DynamoDB calls: keep them off the event loop.
    return await run_in_threadpool(_authenticate_and_count, request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 25, at most 100)")]
Day = Annotated[str | None, Query(description="YYYY-MM-DD", max_length=10)]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
