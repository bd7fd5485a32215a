"""Queueing WHOIS lookups: when domains are added, when a tenant asks for a refresh, and from the schedule.

A queued domain holds a lease, like a queued scan: its WHOIS item's schedule moves to the lease's end
before the message is sent, so the scheduler does not queue it again meanwhile, and a lost message costs
at most the lease (the schedule brings it back). Without a WHOIS queue (a bare local run) nothing is sent
and the items are due at once, for the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from dmarcwatch.config import get_settings
from dmarcwatch.models import Domain, Tenant
from dmarcwatch.store import queues
from dmarcwatch.store import whois as whois_store
from dmarcwatch.whois.messages import WhoisOrigin, WhoisRequest
from dmarcwatch.whois_record import WhoisState

QUEUED_LEASE = timedelta(hours=1)
# Lookups sent at once when domains are added; the others wait for the scheduler (every 15 minutes).
FIRST_LOOKUPS_PER_CALL = 20


def pending_state(domain_id: str, name: str) -> WhoisState:
    return WhoisState(domain_id=domain_id, domain=name)


def send(refs: Iterable[whois_store.WhoisRef], origin: WhoisOrigin) -> int:
    """Send a lookup request for each (leased) domain; how many were sent."""
    bodies = [WhoisRequest.of(r.tenant, r.domain_id, r.domain, origin).model_dump_json() for r in refs]
    return queues.send_whois_requests(bodies)


def queue_added(tenant: Tenant, domains: list[Domain], now: datetime) -> int:
    """First lookups of newly added domains: each gets its WHOIS item (pending). The first
    FIRST_LOOKUPS_PER_CALL are leased and sent now; the rest are due at once for the scheduler, which
    spreads them over its runs (registries rate-limit, and a bulk add must stay a quick call)."""
    if not domains:
        return 0
    queued = bool(get_settings().whois_queue_url)
    first = domains[:FIRST_LOOKUPS_PER_CALL] if queued else []
    rest = domains[len(first) :]
    whois_store.put_new(tenant, [pending_state(d.id, d.name) for d in rest], now)
    if not first:
        return 0
    created = whois_store.ensure_scheduled(
        tenant, [pending_state(d.id, d.name) for d in first], now + QUEUED_LEASE
    )
    fresh = [d for d, made in zip(first, created, strict=True) if made]
    return send((whois_store.WhoisRef(tenant, d.id, d.name) for d in fresh), WhoisOrigin.ADDED)


def queue_refresh(tenant: Tenant, domain: Domain, now: datetime) -> bool:
    """A tenant's refresh (its cooldown already claimed): lease and send; False without a queue (the
    item is then due at once for the scheduler)."""
    ref = whois_store.WhoisRef(tenant, domain.id, domain.name)
    if not get_settings().whois_queue_url:
        whois_store.lease([ref], now, now, due_only=False)
        return False
    whois_store.lease([ref], now, now + QUEUED_LEASE, due_only=False)
    return send([ref], WhoisOrigin.REFRESH) == 1
