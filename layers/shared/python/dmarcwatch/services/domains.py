"""Monitored domains: validated bulk add within the plan allowance, lookups by id or name."""

from __future__ import annotations

from dataclasses import dataclass, field

from dmarcwatch.domain_names import DomainName, InvalidDomain, normalize_domain
from dmarcwatch.errors import not_found
from dmarcwatch.ids import IdPrefix, has_prefix, new_id, random_base62
from dmarcwatch.ingest.messages import PurgeDomain
from dmarcwatch.models import Domain, DomainStatus, Tenant, utcnow
from dmarcwatch.plans import Plan
from dmarcwatch.scanning.queueing import queue_scans
from dmarcwatch.store import domains as store
from dmarcwatch.store import queues
from dmarcwatch.store import scans as scan_store


@dataclass
class AddResult:
    submitted: int
    added: list[Domain] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    invalid: list[InvalidDomain] = field(default_factory=list)
    # First scans sent to the scan queue now; the rest of the added domains are due on the schedule at
    # once (over the per-call or hourly budget, or no queue).
    scans_queued: int = 0


def add_domains(tenant: Tenant, plan: Plan, raw_names: list[str]) -> AddResult:
    """Add every valid new name; report invalid, duplicate, existing and over-allowance ones one by one."""
    result = AddResult(submitted=len(raw_names))
    wanted: dict[str, DomainName] = {}
    for raw in raw_names:
        parsed = normalize_domain(raw)
        if isinstance(parsed, InvalidDomain):
            result.invalid.append(parsed)
        elif parsed.ascii in wanted:
            result.duplicates.append(raw)
        else:
            wanted[parsed.ascii] = parsed
    existing = store.existing_names(tenant, wanted)
    result.existing.extend(name for name in wanted if name in existing)
    fresh = [name for name in wanted.values() if name.ascii not in existing]

    room = max(plan.domains_allowed - store.domain_count(tenant), 0)
    for over in fresh[room:]:
        result.invalid.append(
            InvalidDomain(
                over.unicode,
                "plan_limit",
                f"the {plan.name.value} plan allows {plan.domains_allowed} domains per environment",
            )
        )
    now = utcnow()
    candidates = [
        Domain(
            id=new_id(IdPrefix.DOMAIN),
            name=n.ascii,
            unicode_name=n.unicode,
            created_at=now,
            updated_at=now,
            verification_token=random_base62(24),
        )
        for n in fresh[:room]
    ]
    if candidates:
        try:
            added, raced = store.insert_domains(tenant, candidates, plan.domains_allowed)
        except store.AllowanceExceeded:
            added, raced = [], []
            result.invalid.extend(
                InvalidDomain(d.unicode_name, "plan_limit", f"the plan allows {plan.domains_allowed} domains")
                for d in candidates
            )
        result.added.extend(added)
        result.existing.extend(d.name for d in raced)
        if added:
            result.scans_queued = len(queue_scans(tenant, added, now).queued)
    return result


def resolve(tenant: Tenant, id_or_name: str) -> Domain:
    """The tenant's domain by `dom_…` id or by name (any case, Unicode or A-label); 404 otherwise."""
    if has_prefix(id_or_name, IdPrefix.DOMAIN):
        domain = store.get_by_id(tenant, id_or_name)
    else:
        parsed = normalize_domain(id_or_name)
        domain = store.get_by_name(tenant, parsed.ascii) if isinstance(parsed, DomainName) else None
    if domain is None:
        raise not_found("domain")
    return domain


def _filters(
    search: str | None, email_gateway: str | None, dmarc_status: str | None
) -> tuple[str | None, dict[str, str]]:
    needle = search.strip().lower() if search else None
    equals = {}
    if email_gateway:
        equals["email_gateway_lc"] = email_gateway.strip().lower()
    if dmarc_status:
        equals["dmarc_status"] = dmarc_status
    return needle or None, equals


def list_domains(
    tenant: Tenant,
    *,
    limit: int,
    search: str | None,
    after: str | None,
    email_gateway: str | None = None,
    dmarc_status: str | None = None,
) -> store.DomainPage:
    needle, equals = _filters(search, email_gateway, dmarc_status)
    return store.list_page(tenant, limit=limit, search=needle, after=after, equals=equals)


def count_domains(
    tenant: Tenant, *, search: str | None, email_gateway: str | None = None, dmarc_status: str | None = None
) -> int:
    """The total a listing with these filters holds: the tenant counter when unfiltered, else a COUNT."""
    needle, equals = _filters(search, email_gateway, dmarc_status)
    if needle is None and not equals:
        return store.domain_count(tenant)
    return store.count_matching(tenant, search=needle, equals=equals)


def set_status(tenant: Tenant, id_or_name: str, status: DomainStatus) -> Domain:
    """Deactivated domains leave the rescan schedule; activated ones are scanned again soon."""
    domain = resolve(tenant, id_or_name)
    if domain.status != status:
        now = utcnow()
        store.set_status(tenant, domain, status, now)
        domain = domain.model_copy(update={"status": status, "updated_at": now})
        if status == DomainStatus.ACTIVE:
            queue_scans(tenant, [domain], now)
        else:
            scan_store.unschedule(tenant, domain)
    return domain


def delete_domain(tenant: Tenant, id_or_name: str) -> Domain:
    """Stop monitoring the domain and queue the deletion of everything stored under it (statistics,
    sources, reports and records, scans, history), which the parser worker carries out."""
    domain = resolve(tenant, id_or_name)
    if not store.delete(tenant, domain):
        raise not_found("domain")
    purge = PurgeDomain(
        account_id=tenant.account_id, environment=tenant.environment.value, domain_id=domain.id
    )
    queues.send_ingest_request(purge.model_dump_json())
    return domain


def domain_count(tenant: Tenant) -> int:
    return store.domain_count(tenant)
