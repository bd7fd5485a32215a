"""Putting scans in the scan queue without letting one tenant flood it or starve the others (review M2).

The queue feeds one shared scanner of a few concurrent slots, so every way in is bounded:

- Lease: a domain is queued only while no request for it is in the queue (`store.scan_requests`); a
  second refresh, a re-activation or the dispatcher then queue nothing new.
- Budget: a tenant's own requests (adding or activating domains, refresh, scan now) spend an hourly
  budget of scans set by the plan (`Plan.requested_scans_per_hour`). Requests beyond it are not
  refused outright when they come in bulk: those domains are handed to the schedule for the next hour,
  where the dispatcher interleaves tenants.
- Scanner: the scanner runs at most `REQUESTED_SCANS_PER_MINUTE` of one account's own requests a
  minute and hands the rest back to the schedule (`admit_requested_scan`), so a burst that got into
  the queue cannot hold every slot. Scheduled scans are not limited there: their number is the
  account's domain count over its plan's interval, and the dispatcher interleaves accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dmarcwatch.config import get_settings
from dmarcwatch.models import Domain, DomainStatus, Tenant
from dmarcwatch.plans import Plan, get_plan
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import counters, queues
from dmarcwatch.store import scan_requests as request_store

REQUESTED_SCANS_PER_MINUTE = 20
# One call queues at most this many scans: the scanner runs only REQUESTED_SCANS_PER_MINUTE of an
# account's own requests a minute anyway. The rest of a bulk add is on the schedule, due at once (new
# domains are inserted due), where the dispatcher's next run interleaves it with other tenants.
SCANS_QUEUED_PER_CALL = REQUESTED_SCANS_PER_MINUTE


def next_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def take_budget(tenant: Tenant, wanted: int, now: datetime, plan: Plan | None = None) -> int:
    """Spend up to `wanted` scans of the tenant's budget for the current hour; how many were granted."""
    if wanted <= 0:
        return 0
    if plan is None:
        account = account_store.get_account(tenant.account_id)
        plan = get_plan(account.plan) if account else None
        if plan is None:
            return 0
    counted = counters.increment(
        counters.scan_budget_subject(tenant.account_id, tenant.environment.value),
        counters.hour_window(now),
        expires_at_epoch=int(next_hour(now).timestamp()) + 3600,
        limit=plan.requested_scans_per_hour,
        amount=wanted,
    )
    return counted.added if counted else 0


@dataclass(frozen=True)
class Queued:
    """What became of each domain asked for."""

    queued: list[Domain] = field(default_factory=list)
    # A request for the domain is in the queue already.
    already_queued: list[Domain] = field(default_factory=list)
    # Left to the schedule (due at `deferred_until`): over the hourly budget, or no queue configured.
    deferred: list[Domain] = field(default_factory=list)
    deferred_until: datetime | None = None
    budget_spent: bool = False


def _lease_request(tenant: Tenant, domain: Domain) -> request_store.LeaseRequest:
    return request_store.LeaseRequest(tenant, domain.name, scheduled=domain.status == DomainStatus.ACTIVE)


def queue_scans(tenant: Tenant, domains: list[Domain], now: datetime, plan: Plan | None = None) -> Queued:
    """Queue a scan of each domain the tenant asked for, within its lease and budget (module docstring).

    Beyond SCANS_QUEUED_PER_CALL domains, the rest are left to the schedule, where callers have put them
    (a bulk add inserts its domains due at once)."""
    if not domains:
        return Queued()
    if len(domains) > SCANS_QUEUED_PER_CALL:
        now_part = queue_scans(tenant, domains[:SCANS_QUEUED_PER_CALL], now, plan)
        return Queued(
            now_part.queued,
            now_part.already_queued,
            [*now_part.deferred, *domains[SCANS_QUEUED_PER_CALL:]],
            now_part.deferred_until or now,
            now_part.budget_spent,
        )
    taken = request_store.lease([_lease_request(tenant, d) for d in domains], now, now + QUEUED_LEASE)
    leased = [domain for domain, ok in zip(domains, taken, strict=True) if ok]
    busy = [domain for domain, ok in zip(domains, taken, strict=True) if not ok]
    if busy:
        # An active domain whose schedule was removed (deactivated meanwhile) must not depend on the
        # waiting request alone: if that is lost, the schedule still comes back to it.
        request_store.schedule_unscheduled([_lease_request(tenant, d) for d in busy], now + QUEUED_LEASE)
    if not get_settings().scan_queue_url:
        # No queue (a bare local run): the schedule makes them due at once.
        request_store.release([_lease_request(tenant, d) for d in leased], reschedule_at=now)
        return Queued(already_queued=busy, deferred=leased, deferred_until=now)
    granted = take_budget(tenant, len(leased), now, plan)
    sending, over = leased[:granted], leased[granted:]
    if sending:
        queues.send_scan_requests(
            [ScanRequest.of(tenant, d.name, ScanOrigin.REQUEST).message() for d in sending]
        )
    until = next_hour(now) if over else None
    if over:
        request_store.release([_lease_request(tenant, d) for d in over], reschedule_at=until)
    return Queued(sending, busy, over, until, budget_spent=bool(over))


def admit_requested_scan(request: ScanRequest, now: datetime) -> bool:
    """Whether the scanner runs this request of a tenant now (always for scheduled scans)."""
    if request.origin is not ScanOrigin.REQUEST:
        return True
    minute = int(now.timestamp() // 60)
    counted = counters.increment(
        f"scan-runs:{request.account_id}",
        f"MIN#{minute}",
        expires_at_epoch=(minute + 2) * 60,
        limit=REQUESTED_SCANS_PER_MINUTE,
    )
    return counted is not None


def hand_back(request: ScanRequest, domain: Domain, now: datetime) -> None:
    """A request the scanner did not run: its lease ends and the schedule scans the domain soon."""
    request_store.release([_lease_request(request.tenant, domain)], reschedule_at=now)


def end_lease(tenant: Tenant, domain: Domain) -> None:
    """The queued request of the domain is done without recording a scan (schedule unchanged)."""
    request_store.release([_lease_request(tenant, domain)])
