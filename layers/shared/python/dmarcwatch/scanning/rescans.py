"""Queueing the rescans that are due: the dispatcher's work (review L5).

Every run reads the due index (gsi2) shard by shard, page by page, and for each page:

- reads the subscription of the page's accounts it has not seen this run, in one batch (BatchGetItem);
  domains of accounts whose subscription is canceled (or that no longer exist) are not queued but moved
  a day ahead, so a reactivated account is picked up again without the index filling with them;
- takes the queue lease of the other domains with conditional writes run in parallel (a domain that is
  no longer due, or already queued, is skipped), instead of a read and a write per domain in turn.

The run's leased domains are then queued with accounts interleaved (`messages.round_robin`), so an
account with thousands of domains due at once does not push everyone else's scans back. (A run that
dies between leasing and sending leaves those domains leased, so due again an hour later: never lost.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch import table as t
from dmarcwatch.models import SubscriptionStatus, utcnow
from dmarcwatch.scanning.lease import QUEUED_LEASE
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest, round_robin
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import queues
from dmarcwatch.store import scan_requests as request_store
from dmarcwatch.store import scans as scan_store

PAGE = 200
# Domains of canceled accounts are looked at again this much later.
CANCELED_RECHECK = timedelta(days=1)


@dataclass
class Dispatched:
    queued: int = 0
    # Due, but already queued or no longer due when leased.
    skipped: int = 0
    # Due, but their account's subscription is canceled (or the account is gone).
    canceled: int = 0


def _lease_page(
    due: list[scan_store.DueDomain],
    now: datetime,
    statuses: dict[str, SubscriptionStatus | None],
    outcome: Dispatched,
) -> list[scan_store.DueDomain]:
    """Lease the page's domains whose account may be scanned; the leased ones."""
    unknown = {d.tenant.account_id for d in due} - statuses.keys()
    if unknown:
        found = account_store.subscription_statuses(unknown)
        statuses.update({account: found.get(account) for account in unknown})
    blocked = [d for d in due if statuses[d.tenant.account_id] in (SubscriptionStatus.CANCELED, None)]
    if blocked:
        request_store.defer([(d.tenant, d.name) for d in blocked], now + CANCELED_RECHECK)
        outcome.canceled += len(blocked)
    open_ = [d for d in due if statuses[d.tenant.account_id] not in (SubscriptionStatus.CANCELED, None)]
    taken = request_store.lease(
        [request_store.LeaseRequest(d.tenant, d.name) for d in open_], now, now + QUEUED_LEASE, due_only=True
    )
    leased = [d for d, ok in zip(open_, taken, strict=True) if ok]
    outcome.skipped += len(open_) - len(leased)
    return leased


def dispatch_due(now: datetime | None = None, max_per_shard: int = 2000) -> Dispatched:
    """Queue every due domain (at most `max_per_shard` read per shard and run) once."""
    now = now or utcnow()
    outcome = Dispatched()
    statuses: dict[str, SubscriptionStatus | None] = {}
    leased: list[scan_store.DueDomain] = []
    for shard in range(t.SCAN_SHARDS):
        after: str | None = None
        read = 0
        while read < max_per_shard:
            due, after = scan_store.due(shard, now, PAGE, after)
            read += len(due)
            if due:
                leased.extend(_lease_page(due, now, statuses, outcome))
            if after is None:
                break
    requests = round_robin(ScanRequest.of(d.tenant, d.name, ScanOrigin.SCHEDULE) for d in leased)
    outcome.queued = queues.send_scan_requests([request.message() for request in requests])
    return outcome
