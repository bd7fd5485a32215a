"""The app-level limiter: per account per minute and per day, and failed authentications per IP.

Limits are per account (all its keys and both environments), as the account's API Gateway usage plan
counts them, so the local stack and AWS answer the same. Counters live in DynamoDB with TTL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.plans import Plan
from dmarcwatch.store import counters


@dataclass(frozen=True)
class RateStatus:
    limit: int
    remaining: int
    reset_epoch: int
    quota_limit: int | None
    quota_used: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_epoch),
            "X-API-Quota-Limit": "unlimited" if self.quota_limit is None else str(self.quota_limit),
            "X-API-Quota-Used": str(self.quota_used),
        }


def clock() -> float:
    """The limiter's time (a function of its own, so tests can pin a window without freezing the process)."""
    return time.time()


def _windows(now: float) -> tuple[str, int, str, int]:
    minute = int(now // 60)
    day = datetime.fromtimestamp(now, UTC).date()
    day_end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86_400)
    return f"MIN#{minute}", (minute + 1) * 60, f"DAY#{day.isoformat()}", day_end


def day_window(day: datetime) -> str:
    return f"DAY#{day.date().isoformat()}"


def check_and_count(account_id: str, plan: Plan, now: float | None = None) -> RateStatus:
    """Count one call; raise 429 (rate_limit_exceeded or quota_exceeded, with Retry-After) if over.

    One conditional write per call, refused or not (`counters.count_request`), so a client hammering
    past its limit costs no more than one within it.
    """
    now = clock() if now is None else now
    _, minute_reset, day_sk, day_reset = _windows(now)
    tally = counters.count_request(
        f"account:{account_id}",
        day_sk,
        int(now // 60),
        per_minute=plan.requests_per_minute,
        per_day=plan.requests_per_day,
        expires_at_epoch=day_reset + 86_400 * 2,
    )
    status = RateStatus(
        plan.requests_per_minute,
        plan.requests_per_minute - tally.minute_hits,
        minute_reset,
        plan.requests_per_day,
        tally.day_hits,
    )
    if tally.refused_by == "minute":
        raise ApiError(
            ErrorCode.RATE_LIMIT_EXCEEDED,
            f"rate limit of {plan.requests_per_minute} requests per minute exceeded",
            headers={**status.headers(), "Retry-After": str(max(1, minute_reset - int(now)))},
        )
    if tally.refused_by == "day":
        raise ApiError(
            ErrorCode.QUOTA_EXCEEDED,
            f"daily quota of {plan.requests_per_day} requests exceeded",
            headers={**status.headers(), "Retry-After": str(max(1, day_reset - int(now)))},
        )
    return status


def calls_today(account_id: str, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return counters.read(f"account:{account_id}", day_window(now))


def count_failed_auth(source_ip: str, limit: int, now: float | None = None) -> bool:
    """Count a failed authentication from `source_ip`; False once the IP is over its limit."""
    now = clock() if now is None else now
    minute_sk, minute_reset, _, _ = _windows(now)
    counted = counters.increment(
        f"ip:{source_ip}", minute_sk, expires_at_epoch=minute_reset + 120, limit=limit
    )
    return counted is not None


def retry_after_minute(now: float | None = None) -> int:
    now = clock() if now is None else now
    return max(1, int((now // 60 + 1) * 60 - now))
