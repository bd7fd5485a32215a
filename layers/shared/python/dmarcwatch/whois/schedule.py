"""The weekly WHOIS refresh: the scheduler's work (every 15 minutes, bounded per run).

Each domain's WHOIS item is on the sparse gsi2 index (`WHOISDUE#<shard>`, sorted by the next refresh),
like the rescans, so a run reads exactly the due items, never every tenant. A run takes at most
`max_per_shard` from each shard, leases them (the schedule moves an hour on, conditionally: an item
another run or a refresh took is skipped) and queues them with tenants interleaved. Domains of canceled
accounts are moved a day on instead. What a run leaves is due for the next one; the refresh times
themselves are spread (`outcome.next_refresh`), so a week's lookups do not arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch import table as t
from dmarcwatch.interleave import interleave
from dmarcwatch.models import SubscriptionStatus, utcnow
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import whois as whois_store
from dmarcwatch.whois.messages import WhoisOrigin
from dmarcwatch.whois.queueing import QUEUED_LEASE, send

PAGE = 100
CANCELED_RECHECK = timedelta(days=1)


@dataclass
class Dispatched:
    queued: int = 0
    skipped: int = 0
    canceled: int = 0


def _lease(due: list[whois_store.WhoisRef], now: datetime, outcome: Dispatched) -> list[whois_store.WhoisRef]:
    statuses = account_store.subscription_statuses({ref.tenant.account_id for ref in due})
    blocked = [r for r in due if statuses.get(r.tenant.account_id) in (SubscriptionStatus.CANCELED, None)]
    open_ = [r for r in due if r not in blocked]
    if blocked:
        whois_store.lease(blocked, now, now + CANCELED_RECHECK, due_only=True)
        outcome.canceled += len(blocked)
    taken = whois_store.lease(open_, now, now + QUEUED_LEASE, due_only=True)
    leased = [ref for ref, ok in zip(open_, taken, strict=True) if ok]
    outcome.skipped += len(open_) - len(leased)
    return leased


def dispatch_due(now: datetime | None = None, max_per_shard: int = 100) -> Dispatched:
    """Queue the due WHOIS refreshes, at most `max_per_shard` of each shard."""
    now = now or utcnow()
    outcome = Dispatched()
    leased: list[whois_store.WhoisRef] = []
    for shard in range(t.WHOIS_SHARDS):
        after: str | None = None
        read = 0
        while read < max_per_shard:
            due, after = whois_store.due(shard, now, min(PAGE, max_per_shard - read), after)
            read += len(due)
            if due:
                leased.extend(_lease(due, now, outcome))
            if after is None:
                break
    outcome.queued = send(interleave(leased, lambda ref: ref.tenant.account_id), WhoisOrigin.SCHEDULE)
    return outcome
