"""Scans a tenant asks for at once: `POST /v1/domains/{id}/scan` (run now) and `.../refresh_dns` (queued)
(review M2: each scan sends up to hundreds of queries, so it must not be repeatable at will).

- Cooldown: at most one on-demand scan of a domain per `ON_DEMAND_COOLDOWN`; scan and refresh share it.
  Within it nothing is scanned and the answer is still a success: the scan endpoint returns the latest
  stored result marked `cached` with `next_scan_allowed_at`, the refresh endpoint `queued: false` with
  `reason: "cooldown"` and `retry_after`. Chosen over a 429 because a client repeating its call gets
  the freshest data there is, and nothing it could do sooner would give it fresher. Only when nothing is
  stored yet (the first on-demand scan failed, or a queued refresh has not run) does the scan endpoint
  answer 429 `rate_limit_exceeded` with Retry-After.
- Budget: each on-demand scan spends one of the tenant's hourly scans
  (`Plan.requested_scans_per_hour`); when it is spent the answer is 429 `quota_exceeded` with
  Retry-After (the next hour).
- A refresh queues nothing while a request for the domain is in the queue (`reason: "already_queued"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import Domain, Tenant, iso
from dmarcwatch.scanning.queueing import next_hour, queue_scans, take_budget
from dmarcwatch.scanning.service import RecordedScan, scan_and_record
from dmarcwatch.store import scan_requests as request_store

ON_DEMAND_COOLDOWN = timedelta(minutes=5)


@dataclass(frozen=True)
class Cooldown:
    """An on-demand scan was granted at `since`; the next one is allowed at `until`."""

    since: datetime
    until: datetime

    def retry_after(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))


class NotQueued(StrEnum):
    """Why a refresh queued nothing."""

    COOLDOWN = "cooldown"
    ALREADY_QUEUED = "already_queued"
    # No scan queue (a bare local run): the schedule scans the domain at once.
    SCHEDULED = "scheduled"


@dataclass(frozen=True)
class Refresh:
    queued: bool
    reason: NotQueued | None = None
    # Seconds until the cooldown ends (with reason COOLDOWN).
    retry_after: int | None = None


def _claim(tenant: Tenant, domain: Domain, now: datetime) -> Cooldown | None:
    since = request_store.claim_on_demand(tenant, domain.name, now, now - ON_DEMAND_COOLDOWN)
    return None if since is None else Cooldown(since, since + ON_DEMAND_COOLDOWN)


def _quota_exceeded(now: datetime) -> ApiError:
    reset = next_hour(now)
    return ApiError(
        ErrorCode.QUOTA_EXCEEDED,
        f"this environment's scans for this hour are used up; more from {iso(reset)}",
        headers={"Retry-After": str(max(1, int((reset - now).total_seconds())))},
    )


def cooling_down(cooldown: Cooldown, now: datetime) -> ApiError:
    """The error for a scan within the cooldown when no result is stored to answer with."""
    return ApiError(
        ErrorCode.RATE_LIMIT_EXCEEDED,
        f"the domain was scanned on demand at {iso(cooldown.since)}; scan again from {iso(cooldown.until)}",
        headers={"Retry-After": str(cooldown.retry_after(now))},
    )


def scan_now(tenant: Tenant, domain: Domain, now: datetime) -> RecordedScan | Cooldown:
    """Scan at once, or the cooldown that holds it back; ApiError 429 when the hourly budget is spent."""
    cooldown = _claim(tenant, domain, now)
    if cooldown is not None:
        return cooldown
    if take_budget(tenant, 1, now) < 1:
        raise _quota_exceeded(now)
    return scan_and_record(tenant, domain, requested=True)


def refresh(tenant: Tenant, domain: Domain, now: datetime) -> Refresh:
    """Queue a scan; ApiError 429 when the hourly budget is spent (the schedule then scans it next hour)."""
    cooldown = _claim(tenant, domain, now)
    if cooldown is not None:
        return Refresh(False, NotQueued.COOLDOWN, cooldown.retry_after(now))
    outcome = queue_scans(tenant, [domain], now)
    if outcome.budget_spent:
        raise _quota_exceeded(now)
    if outcome.already_queued:
        return Refresh(False, NotQueued.ALREADY_QUEUED)
    if outcome.deferred:
        return Refresh(False, NotQueued.SCHEDULED)
    return Refresh(True)
