"""The WHOIS worker's work: look a batch of requests up over RDAP and record each outcome.

Per request: the domain must still exist under that id (else nothing is done); a domain waiting out a
429 (`next_attempt_at` in the future) is left to the retry already arranged. The lookups of a batch run
concurrently (at most `CONCURRENCY` at once) over one httpx client; each RDAP server's requests are
counted per minute in DynamoDB (`RATE#rdap:<host>`), so all workers together stay within
`rdap_requests_per_host_per_minute`. A rate-limited lookup is sent again with the delay the server asked
for when SQS can delay that long (15 minutes), else left to the schedule at `next_attempt_at`.

The outcome, the next refresh and a `domain.expiring` event are written in one transaction on the
revision read (`store.whois.record`): a duplicate message that lost the race writes nothing. A new expiry
date is then copied onto the domain item (`registration_expires_at`, the dashboard's `expiring_30d`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dmarcwatch.config import get_settings
from dmarcwatch.events import Event
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.models import Domain, DomainStatus, utcnow
from dmarcwatch.store import counters, queues
from dmarcwatch.store import domains as domain_store
from dmarcwatch.store import whois as whois_store
from dmarcwatch.store.db import ts
from dmarcwatch.store.rdap_bootstrap import CachedBootstrap
from dmarcwatch.whois import bootstrap, rdap
from dmarcwatch.whois.messages import WhoisOrigin, WhoisRequest
from dmarcwatch.whois.outcome import REFRESH_EVERY, apply
from dmarcwatch.whois.queueing import QUEUED_LEASE, pending_state
from dmarcwatch.whois_record import WhoisStatus

CONCURRENCY = 5


class Done(StrEnum):
    RECORDED = "recorded"
    # The domain is gone (deleted, or re-added under another id).
    GONE = "gone"
    # Waiting out a 429; the retry is arranged already.
    WAITING = "waiting"
    # Another lookup of the domain was recorded first.
    SUPERSEDED = "superseded"
    # The domain is not monitored now (deactivated or removed).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Outcome:
    done: Done
    status: WhoisStatus | None = None
    expiring_event: bool = False


async def take_host_budget(host: str) -> int | None:
    """One request of `host`'s budget this minute: None when granted, else seconds to the next minute."""
    now = time.time()
    minute = int(now // 60)
    counted = await asyncio.to_thread(
        counters.increment,
        f"rdap:{host}",
        f"MIN#{minute}",
        expires_at_epoch=(minute + 2) * 60,
        limit=get_settings().rdap_requests_per_host_per_minute,
    )
    return None if counted is not None else max(1, int((minute + 1) * 60 - now + 0.999))


async def _lookup_all(names: list[str]) -> list[rdap.Lookup]:
    gate = asyncio.Semaphore(CONCURRENCY)
    async with rdap.make_client(take_host_budget) as client:

        async def one(name: str) -> rdap.Lookup:
            async with gate:
                return await rdap.lookup(name, client)

        return list(await asyncio.gather(*(one(name) for name in names)))


def _lookups(names: list[str], cached: CachedBootstrap | None, missing: str | None) -> list[rdap.Lookup]:
    if cached is None:
        return [rdap.Lookup(WhoisStatus.ERROR, error=missing) for _ in names]
    found = asyncio.run(_lookup_all(names)) if names else []
    explained = []
    for name, lookup in zip(names, found, strict=True):
        refused = (
            bootstrap.http_only_services(cached, name) if lookup.status is WhoisStatus.UNSUPPORTED_TLD else []
        )
        if refused:
            reason = f"the registry's RDAP service is http only, which is refused: {', '.join(refused)}"
            lookup = rdap.Lookup(WhoisStatus.UNSUPPORTED_TLD, error=reason)
        explained.append(lookup)
    return explained


def _sync_expiry(request: WhoisRequest, expiry: datetime | None, now: datetime) -> None:
    """Copy the expiry date onto the domain item, where the dashboard counts expiring domains (its
    counters move in the same transaction, on the domain's revision: retried when another change won)."""
    for _ in range(3):
        domain = domain_store.get_by_name(request.tenant, request.domain)
        if domain is None or domain.id != request.domain_id or domain.registration_expires_at == expiry:
            return
        after = domain.model_copy(update={"registration_expires_at": expiry, "updated_at": now})
        if domain_store.update_fields(request.tenant, domain, after, {"registration_expires_at": ts(expiry)}):
            return


def _record(request: WhoisRequest, lookup: rdap.Lookup, now: datetime) -> Outcome:
    tenant = request.tenant
    stored = whois_store.get(tenant, request.domain_id)
    state = stored.state if stored else pending_state(request.domain_id, request.domain)
    applied = apply(state, lookup, now)
    next_refresh_at = applied.next_refresh_at
    retry = (
        lookup.status is WhoisStatus.RATE_LIMITED and (lookup.retry_after or 0) <= queues.MAX_DELAY_SECONDS
    )
    if retry:
        # The delayed message is the retry; the schedule is the fallback should it be lost.
        next_refresh_at = next_refresh_at + QUEUED_LEASE
    event = None
    if applied.expiring is not None:
        event = Event(
            id=derived_id(
                IdPrefix.EVENT,
                request.domain_id,
                "expiring",
                applied.expiring.expiry_date.isoformat(),
                str(applied.expiring.threshold_days),
            ),
            account_id=tenant.account_id,
            environment=tenant.environment.value,
            created_at=now,
            payload=applied.expiring,
        )
    state = applied.state.model_copy(update={"next_refresh_at": next_refresh_at})
    if not whois_store.record(tenant, state, stored.revision if stored else 0, next_refresh_at, event):
        return Outcome(Done.SUPERSEDED)
    if lookup.record is not None and lookup.status is WhoisStatus.OK:
        _sync_expiry(request, lookup.record.expiry_date, now)
    if retry:
        later = request.model_copy(update={"origin": WhoisOrigin.RETRY})
        queues.send_whois_request_later(later.model_dump_json(), lookup.retry_after or 0)
    return Outcome(Done.RECORDED, lookup.status, event is not None)


def _wanted(request: WhoisRequest, domain: Domain) -> bool:
    if domain.status is DomainStatus.ACTIVE:
        return True
    return request.origin is WhoisOrigin.REFRESH and domain.status is DomainStatus.INACTIVE


def run_requests(requests: list[WhoisRequest], now: datetime | None = None) -> list[Outcome]:
    """Look up and record each request; one outcome per request, in order."""
    now = now or utcnow()
    outcomes: list[Outcome | None] = []
    todo: list[tuple[int, WhoisRequest]] = []
    for index, request in enumerate(requests):
        domain = domain_store.get_by_name(request.tenant, request.domain)
        if domain is None or domain.id != request.domain_id:
            outcomes.append(Outcome(Done.GONE))
            continue
        if not _wanted(request, domain):
            # Paused or removed: the schedule asks again in a week (a tenant's refresh still looks up a
            # paused domain).
            ref = whois_store.WhoisRef(request.tenant, domain.id, domain.name)
            whois_store.lease([ref], now, now + REFRESH_EVERY, due_only=False)
            outcomes.append(Outcome(Done.SKIPPED))
            continue
        stored = whois_store.get(request.tenant, request.domain_id)
        waiting = stored.state.next_attempt_at if stored else None
        if waiting is not None and waiting > now + timedelta(seconds=1):
            outcomes.append(Outcome(Done.WAITING))
            continue
        outcomes.append(None)
        todo.append((index, request))
    cached, missing = None, None
    if todo:
        try:
            cached = bootstrap.ensure_loaded(now)
        except bootstrap.BootstrapUnavailable as error:
            missing = f"no RDAP bootstrap data: {error}"
    lookups = _lookups([request.domain for _, request in todo], cached, missing)
    for (index, request), lookup in zip(todo, lookups, strict=True):
        outcomes[index] = _record(request, lookup, now)
    return [outcome for outcome in outcomes if outcome is not None]
