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


def pending_state(domain_id: str, name: str) -> WhoisState:
    return WhoisState(domain_id=domain_id, domain=name)


def send(refs: Iterable[whois_store.WhoisRef], origin: WhoisOrigin) -> int:
    """Send a lookup request for each (leased) domain; how many were sent."""
    bodies = [WhoisRequest.of(r.tenant, r.domain_id, r.domain, origin).model_dump_json() for r in refs]
    return queues.send_whois_requests(bodies)


def queue_added(tenant: Tenant, domains: list[Domain], now: datetime) -> int:
    """First lookups of newly added domains: each gets its WHOIS item (pending, leased) and a request."""
    if not domains:
        return 0
    queued = bool(get_settings().whois_queue_url)
    at = now + QUEUED_LEASE if queued else now
    created = whois_store.ensure_scheduled(tenant, [pending_state(d.id, d.name) for d in domains], at)
    fresh = [d for d, made in zip(domains, created, strict=True) if made]
    if not queued:
        return 0
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
