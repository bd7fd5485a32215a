"""Scanning a domain and recording what changed.

A scan's result is compared with the previous one (`dmarcwatch.dns.diff.diff_results`, which ignores
fields whose check failed this time, so a SERVFAIL is never a "removed record"). The new result, one
history entry per change, the `dns.changed` and `domain.scan.completed` events and the domain's summary
fields are written in one transaction guarded by the scan counter: of two concurrent scans, one records.

Every scan of a verified domain also looks for its ownership token again (review L1): seen, the time is
recorded with the summary (`verification_checked_at`); authoritatively gone (both names answered without
it), the verification is withdrawn with a `domain.unverified` event (`withdraw_verification`, which the
verify endpoint uses too), so a domain that changed hands stops routing shared-address reports to its
former owner. A failed lookup changes nothing.

What a scan asks depends on what the previous one found (`dns.plan`: its DKIM selectors, the common list
once a week or when the tenant asked). The scanner hands over its queue batch at once
(`run_scan_requests`): the scans run concurrently in one event loop over one resolver socket, and each is
recorded on its own, so one failure fails only its own message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from dmarcwatch.dns.diff import Change, diff_results
from dmarcwatch.dns.limits import FULL, UNVERIFIED, ScanLimits, scan_session
from dmarcwatch.dns.ownership import QUERIES, Ownership, OwnershipCheck, check_ownership
from dmarcwatch.dns.plan import ScanPlan, plan_scan
from dmarcwatch.dns.resolver import DnsSession, build_resolver
from dmarcwatch.dns.result import ScanResult
from dmarcwatch.dns.scan import scan_domain
from dmarcwatch.dns.stub import StubResolver
from dmarcwatch.events import DnsChanged, DomainScanCompleted, DomainUnverified, Event, EventType
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.models import Domain, DomainStatus, Tenant, utcnow
from dmarcwatch.plans import get_plan
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest
from dmarcwatch.scanning.queueing import admit_requested_scan, end_lease, hand_back, queue_scans
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import domains as domain_store
from dmarcwatch.store import events as event_store
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store import scans as scan_store
from dmarcwatch.store.db import ts


@dataclass(frozen=True)
class RecordedScan:
    result: ScanResult
    changes: list[Change]
    recorded: bool


def applied_policy(result: ScanResult) -> str | None:
    """The DMARC policy that applies to mail from the scanned name: for a subdomain without its own record
    the parent's `sp` (or `np` when the name does not exist), not its `p`. Results stored before the
    applied policy was recorded give their record's `p`."""
    if result.dmarc_policy_source is not None:
        return result.dmarc_policy_applied
    return result.dmarc_policy_p


def dmarc_status(result: ScanResult) -> str:
    """The list filter's value: the applied policy, or `missing` (also for an invalid record)."""
    applied = applied_policy(result)
    if result.dmarc and applied in ("reject", "quarantine", "none"):
        return applied
    return "missing"


SPF_RECORD_KEPT = 2048
# How often a scan is recorded when the domain changes under it (see _finish).
RECORD_ATTEMPTS = 3


def summary_fields(result: ScanResult) -> dict[str, Any]:
    return {
        "email_gateway": result.email_gateway or "none",
        "email_gateway_lc": (result.email_gateway or "none").lower(),
        "dmarc_status": dmarc_status(result),
        "spf_status": result.spf_status or "unknown",
        # The list's `spf` (seed 002; "" when there is none): a record is a few hundred bytes, the cut
        # keeps the item small whatever is published.
        "spf_record": (result.spf or "")[:SPF_RECORD_KEPT],
    }


def _events(
    tenant: Tenant, domain: Domain, changes: list[Change], at: datetime, scan_no: int
) -> list[dict[str, Any]]:
    def event(payload: Any, *parts: str) -> dict[str, Any]:
        return event_store.event_item(
            Event(
                id=derived_id(IdPrefix.EVENT, domain.id, str(scan_no), *parts),
                account_id=tenant.account_id,
                environment=tenant.environment.value,
                created_at=at,
                payload=payload,
            )
        )

    items = [
        event(
            DnsChanged(domain_id=domain.id, domain=domain.name, field=c.field, old=c.old, new=c.new), c.field
        )
        for c in changes
    ]
    items.append(
        event(DomainScanCompleted(domain_id=domain.id, domain=domain.name, changes=len(changes)), "done")
    )
    return items


@dataclass(frozen=True)
class _Job:
    """One domain to scan, with what its scan needs from the store."""

    tenant: Tenant
    domain: Domain
    queued: bool
    # A domain nobody proved to own may point its scan anywhere: smaller limits (`dns.limits`).
    limits: ScanLimits
    previous: scan_store.LatestScan | None
    selectors: scan_store.SelectorHistory
    plan: ScanPlan


def _job(tenant: Tenant, domain: Domain, *, queued: bool, requested: bool) -> _Job:
    # Selectors already found in the DNS first, then the most recently reported: a flood of invented
    # selectors in forged reports cannot push the real ones out of the scan's limited extra list.
    selectors = scan_store.dkim_selector_history(tenant, domain.id)
    previous = scan_store.latest(tenant, domain.id)
    plan = plan_scan(
        ScanResult.model_validate(previous.result) if previous is not None else None,
        selectors.ranked(),
        now=utcnow(),
        requested=requested,
    )
    limits = FULL if domain.verified_at is not None else UNVERIFIED
    return _Job(tenant, domain, queued, limits, previous, selectors, plan)


async def _scan(job: _Job, resolver: StubResolver) -> tuple[ScanResult, OwnershipCheck | None]:
    """The scan, and for a verified domain the look for its ownership token (review L1), at once."""
    name = job.domain.name
    scanning = scan_domain(
        name, session=scan_session(name, job.limits, resolver), limits=job.limits, plan=job.plan
    )
    if job.domain.verified_at is None:
        return await scanning, None
    token = check_ownership(name, job.domain.verification_token, DnsSession(resolver, max_queries=QUERIES))
    return await asyncio.gather(scanning, token)


async def _scan_all(
    jobs: Sequence[_Job],
) -> list[tuple[ScanResult, OwnershipCheck | None] | BaseException]:
    """Every job's scan concurrently, over one resolver (one socket, one answer cache) for the batch."""
    resolver = build_resolver()
    try:
        return await asyncio.gather(*(_scan(job, resolver) for job in jobs), return_exceptions=True)
    finally:
        resolver.close()


def _finish(job: _Job, result: ScanResult, ownership: OwnershipCheck | None) -> RecordedScan:
    tenant, domain = job.tenant, job.domain
    if ownership is not None and ownership.status is Ownership.ABSENT:
        withdraw_verification(tenant, domain)
    found_token = ownership is not None and ownership.status is Ownership.FOUND
    extra = {"verification_checked_at": ts(result.scanned_at)} if found_token else {}
    recorded = _record(tenant, domain, job.previous, result, job.queued, extra)
    for _ in range(RECORD_ATTEMPTS - 1):
        # Lost to a change of the domain's folder, tags or status meanwhile (its revision moved): record
        # again on the domain as it is now. Lost to another scan (same revision): that one stands.
        current = domain_store.get_by_name(tenant, domain.name)
        if recorded.recorded or current is None or current.rev == domain.rev:
            break
        domain = current
        recorded = _record(tenant, domain, job.previous, result, job.queued, extra)
    if recorded.recorded:
        if domain.status == DomainStatus.ACTIVE:
            scan_store.schedule(tenant, domain, result.scanned_at + interval(tenant))
        found = {key.selector for key in result.dkim_selectors_found}
        scan_store.remember_found_dkim_selectors(tenant, domain.id, found, job.selectors, result.scanned_at)
    elif job.queued:
        end_lease(tenant, domain)  # another scan recorded first; this request is done all the same
    return recorded


def _scan_and_record_all(jobs: Sequence[_Job]) -> list[RecordedScan | Exception]:
    """Scan the jobs together, then record each; a failure is the outcome of its own job only."""
    scans = asyncio.run(_scan_all(jobs)) if jobs else []
    outcomes: list[RecordedScan | Exception] = []
    for job, scanned in zip(jobs, scans, strict=True):
        if isinstance(scanned, BaseException):
            outcomes.append(scanned if isinstance(scanned, Exception) else RuntimeError(repr(scanned)))
            continue
        try:
            outcomes.append(_finish(job, *scanned))
        except Exception as error:  # this job's failure, reported for its message alone
            outcomes.append(error)
    return outcomes


def scan_and_record(
    tenant: Tenant, domain: Domain, *, queued: bool = False, requested: bool = False
) -> RecordedScan:
    """Scan the domain and record the result; `queued` for a scan from the queue, whose lease it ends;
    `requested` when the tenant asked for it (the scan then also asks the common DKIM selectors)."""
    [outcome] = _scan_and_record_all([_job(tenant, domain, queued=queued, requested=requested)])
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def withdraw_verification(tenant: Tenant, domain: Domain, now: datetime | None = None) -> bool:
    """Withdraw the domain's verification (granted at `domain.verified_at`), whose token is authoritatively
    gone, with a `domain.unverified` event; False when the domain holds another verification by now."""
    assert domain.verified_at is not None
    event = Event(
        # Named by the verification it withdraws: the withdrawal of a later verification is another event.
        id=derived_id(
            IdPrefix.EVENT,
            tenant.account_id,
            domain.id,
            EventType.DOMAIN_UNVERIFIED,
            domain.verified_at.isoformat(),
        ),
        account_id=tenant.account_id,
        environment=tenant.environment.value,
        created_at=now or utcnow(),
        payload=DomainUnverified(domain_id=domain.id, domain=domain.name),
    )
    return domain_store.drop_verification(tenant, domain.name, domain.verified_at, event)


def _record(
    tenant: Tenant,
    domain: Domain,
    previous: scan_store.LatestScan | None,
    result: ScanResult,
    queued: bool,
    extra: dict[str, Any],
) -> RecordedScan:
    """Diff against the previous result (read before the scan: the write is guarded by its scan count,
    so a scan recorded in between makes this one lose) and write the new one with changes and events."""
    changes: list[Change] = []
    previous_fields: dict[str, dict[str, Any]] = previous.previous if previous else {}
    if previous is not None:
        changes = diff_results(ScanResult.model_validate(previous.result), result)
    at = result.scanned_at
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        scan_store.ChangeRow(
            id=derived_id(IdPrefix.CHANGE, domain.id, stamp, c.field),
            field=c.field,
            old=c.old,
            new=c.new,
            detected_at=stamp,
        )
        for c in changes
    ]
    for change in changes:
        previous_fields = {**previous_fields, change.field: {"value": change.old, "changed_at": stamp}}
    count = previous.scan_count if previous else 0
    summary = {**summary_fields(result), **extra}
    scanned = domain.model_copy(
        update={
            "email_gateway": summary["email_gateway"],
            "dmarc_status": summary["dmarc_status"],
            "spf_status": summary["spf_status"],
            "last_scan_at": at,
        }
    )
    recorded = scan_store.record_scan(
        tenant,
        domain,
        result_json=result.model_dump_json(),
        summary=summary,
        previous=previous_fields,
        expected_count=count,
        changes=rows,
        events=_events(tenant, domain, changes, at, count + 1),
        scanned_at=at,
        release_lease=queued,
        counter_items=facet_store.change_items(tenant, [(domain, scanned)]),
    )
    return RecordedScan(result, changes, recorded)


def interval(tenant: Tenant) -> timedelta:
    account = account_store.get_account(tenant.account_id)
    hours = get_plan(account.plan).scan_interval_hours if account else 24
    return timedelta(hours=hours)


def request_scans(tenant: Tenant, domains: list[Domain], now: datetime | None = None) -> int:
    """Queue scans of domains the tenant added, activated or refreshed (`queueing.queue_scans`: one
    request per domain at a time, within the tenant's hourly budget; the rest are left to the schedule).
    Returns how many were queued."""
    return len(queue_scans(tenant, domains, now or utcnow()).queued)


class ScanRun(StrEnum):
    SCANNED = "scanned"
    # The domain was deleted after the request was queued.
    GONE = "gone"
    # A tenant's request over the scanner's per-account rate: handed back to the schedule.
    HANDED_BACK = "handed_back"


ScanOutcome = tuple[ScanRun, RecordedScan | None]


def _admit(request: ScanRequest, now: datetime) -> ScanOutcome | _Job:
    tenant = request.tenant
    domain = domain_store.get_by_name(tenant, request.domain)
    if domain is None or domain.status == DomainStatus.REMOVED:
        return ScanRun.GONE, None
    if not admit_requested_scan(request, now):
        hand_back(request, domain, now)
        return ScanRun.HANDED_BACK, None
    return _job(tenant, domain, queued=True, requested=request.origin is ScanOrigin.REQUEST)


def run_scan_requests(
    requests: Sequence[ScanRequest], now: datetime | None = None
) -> list[ScanOutcome | Exception]:
    """What the scanner does with a batch of queue messages: the admitted ones are scanned together
    (one event loop, one resolver socket), each recorded on its own. One outcome or failure per request,
    in order."""
    now = now or utcnow()
    outcomes: list[ScanOutcome | Exception] = []
    jobs: dict[int, _Job] = {}
    for request in requests:
        try:
            decided = _admit(request, now)
        except Exception as error:  # this request's failure alone
            outcomes.append(error)
            continue
        if isinstance(decided, _Job):
            jobs[len(outcomes)] = decided
        outcomes.append(decided if not isinstance(decided, _Job) else (ScanRun.SCANNED, None))
    for slot, recorded in zip(jobs, _scan_and_record_all(list(jobs.values())), strict=True):
        outcomes[slot] = recorded if isinstance(recorded, Exception) else (ScanRun.SCANNED, recorded)
    return outcomes


def run_scan_request(request: ScanRequest, now: datetime | None = None) -> ScanOutcome:
    """What the scanner does with one queue message."""
    [outcome] = run_scan_requests([request], now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome
