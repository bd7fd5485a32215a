"""The nightly reconciliation of the portfolio counters and the facet index (a scheduled function).

The writers keep the facet members and the counters (`store.facets`) in the transactions of their
changes; this recomputes both from the domains once a day per tenant and repairs any difference: a
drift left by a race the guards do not cover (a report's statistics applied while its domain moved), an
interrupted folder deletion, or domains stored before the index existed (the backfill). It also purges the
domains removed more than 30 days ago (their data through the parser worker's purge). It never undoes
a concurrent write: the tenant is skipped when its counters change while it is read, each counter
correction is conditional on the value read, and each member repair on the domain's revision.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarcwatch.facets import facets_of
from dmarcwatch.models import Domain, DomainStatus, Environment, Tenant, utcnow
from dmarcwatch.observability import logger, metrics, tracer
from dmarcwatch.portfolio_metrics import ALL
from dmarcwatch.services.domains import REMOVED_KEPT_DAYS, queue_purge
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import domains as domain_store
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store import reports as report_store

# A tenant is reconciled again once this long has passed (the function runs hourly and works through
# the tenants due within its time budget).
RECONCILE_EVERY = timedelta(hours=20)
# Stop starting tenants when less than this is left of the invocation.
SAFETY_MS = 60_000
STATS_READERS = 8


@dataclass
class TenantOutcome:
    skipped_busy: bool = False
    counters_corrected: int = 0
    members_added: int = 0
    members_dropped: int = 0
    purged: int = 0


def reconcile_tenant(tenant: Tenant, now: datetime | None = None) -> TenantOutcome:
    now = now or utcnow()
    outcome = TenantOutcome()
    stored = facet_store.all_counters(tenant)
    domains = domain_store.all_domains(tenant)
    with ThreadPoolExecutor(max_workers=STATS_READERS) as pool:
        daily = dict(
            zip(
                (d.id for d in domains),
                pool.map(lambda d: domain_store.recent_daily_stats(tenant, d.id, now), domains),
                strict=True,
            )
        )
    expected = facet_store.counter_deltas([(None, d) for d in domains], daily)
    if facet_store.all_counters(tenant) != stored:
        outcome.skipped_busy = True  # written to meanwhile: look again on the next run
        return outcome
    for facet in sorted(set(stored) | set(expected)):
        want = {name: value for name, value in expected.get(facet, {}).items() if value}
        outcome.counters_corrected += facet_store.correct_counters(tenant, facet, stored.get(facet, {}), want)
    _repair_members(tenant, domains, set(stored) | set(expected), outcome)
    stored_domains = domain_store.domain_count(tenant)
    counted_domains = sum(1 for d in domains if d.status != DomainStatus.REMOVED)
    if counted_domains != stored_domains and domain_store.correct_domain_count(
        tenant, stored_domains, counted_domains
    ):
        outcome.counters_corrected += 1
    stored_reports = report_store.report_count(tenant)
    counted = report_store.count_reports(tenant, start=None, end=None, filters={})
    if counted != stored_reports and report_store.correct_report_count(tenant, stored_reports, counted):
        outcome.counters_corrected += 1
    # Last: a purge moves the counters itself, in its own guarded transaction.
    outcome.purged = _purge_removed(tenant, domains, now)
    return outcome


def _purge_removed(tenant: Tenant, domains: list[Domain], now: datetime) -> int:
    """Delete the domains removed more than REMOVED_KEPT_DAYS ago and queue the purge of their data."""
    deadline = now - timedelta(days=REMOVED_KEPT_DAYS)
    purged = 0
    expired = [
        d for d in domains if d.status == DomainStatus.REMOVED and d.removed_at and d.removed_at <= deadline
    ]
    for domain in expired:
        if domain_store.delete(tenant, domain):  # False: restored (or changed) meanwhile
            queue_purge(tenant, domain)
            purged += 1
    return purged


def _repair_members(tenant: Tenant, domains: list[Domain], facets: set[str], outcome: TenantOutcome) -> None:
    by_name = {d.name: d for d in domains}
    wanted: dict[str, set[str]] = {}
    for domain in domains:
        for facet in facets_of(domain):
            wanted.setdefault(facet, set()).add(domain.name)
    for facet in sorted((facets | set(wanted)) - {ALL}):
        present = facet_store.all_members(tenant, facet)
        expected = wanted.get(facet, set())
        for name in sorted(expected - present):
            outcome.members_added += facet_store.repair_member(tenant, facet, name, by_name[name])
        for name in sorted(present - expected):
            outcome.members_dropped += facet_store.repair_member(tenant, facet, name, by_name.get(name))


def due_tenants(now: datetime) -> list[Tenant]:
    tenants = [
        Tenant(account_id=account_id, environment=environment)
        for account_id in account_store.account_ids()
        for environment in Environment
    ]
    return [
        tenant
        for tenant in tenants
        if (last := domain_store.reconciled_at(tenant)) is None or now - last >= RECONCILE_EVERY
    ]


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = utcnow()
    done = busy = corrected = repaired = 0
    for tenant in due_tenants(now):
        if context.get_remaining_time_in_millis() < SAFETY_MS:  # the rest wait for the next run
            break
        outcome = reconcile_tenant(tenant, now)
        if outcome.skipped_busy:
            busy += 1
            continue
        domain_store.mark_reconciled(tenant, now)
        done += 1
        corrected += outcome.counters_corrected
        repaired += outcome.members_added + outcome.members_dropped
        if outcome.counters_corrected or outcome.members_added or outcome.members_dropped:
            logger.warning("reconciled a drift", extra={"tenant": tenant.account_id, **outcome.__dict__})
    metrics.add_metric(name="TenantsReconciled", unit=MetricUnit.Count, value=done)
    metrics.add_metric(name="CountersCorrected", unit=MetricUnit.Count, value=corrected)
    metrics.add_metric(name="MembersRepaired", unit=MetricUnit.Count, value=repaired)
    return {"reconciled": done, "busy": busy, "corrected": corrected, "repaired": repaired}
