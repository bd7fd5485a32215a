"""Monitored domains: validated bulk add within the plan allowance, lookups by id or name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dmarcwatch import facets
from dmarcwatch.domain_names import DomainName, InvalidDomain, normalize_domain
from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ids import IdPrefix, has_prefix, new_id, random_base62
from dmarcwatch.ingest.messages import PurgeDomain
from dmarcwatch.models import Domain, DomainStatus, Tenant, utcnow
from dmarcwatch.plans import Plan
from dmarcwatch.scanning.queueing import queue_scans
from dmarcwatch.store import domains as store
from dmarcwatch.store import facets as store_facets
from dmarcwatch.store import queues
from dmarcwatch.store import scans as scan_store
from dmarcwatch.whois import queueing as whois_queueing


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
    # Removed domains added again (also in `added`): same id, history kept.
    restored: list[str] = field(default_factory=list)


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
    existing = store.existing_statuses(tenant, wanted)
    removed = [name for name, status in existing.items() if status == DomainStatus.REMOVED.value]
    result.existing.extend(name for name in wanted if name in existing and name not in removed)
    fresh = [name for name in wanted.values() if name.ascii not in existing]

    now = utcnow()
    restored = _restore(tenant, plan, removed, now, result)
    room = max(plan.domains_allowed - store.domain_count(tenant), 0)
    for over in fresh[room:]:
        result.invalid.append(
            InvalidDomain(
                over.unicode,
                "plan_limit",
                f"the {plan.name.value} plan allows {plan.domains_allowed} domains per environment",
            )
        )
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
            whois_queueing.queue_added(tenant, added, now)
    if restored:
        result.scans_queued += len(queue_scans(tenant, restored, now).queued)
    return result


def _restore(tenant: Tenant, plan: Plan, names: list[str], now: datetime, result: AddResult) -> list[Domain]:
    """Bring removed domains back (added again: same id, history kept), within the allowance."""
    restored: list[Domain] = []
    for name in names:
        domain = store.get_by_name(tenant, name)
        if domain is None or domain.status != DomainStatus.REMOVED:
            result.existing.append(name)  # restored or purged meanwhile
            continue
        outcome = store.restore(tenant, domain, plan.domains_allowed, now)
        if outcome == "allowance":
            message = f"the {plan.name.value} plan allows {plan.domains_allowed} domains per environment"
            result.invalid.append(InvalidDomain(domain.unicode_name, "plan_limit", message))
        elif outcome is None:
            back = store.get_by_name(tenant, name)
            if back is not None:
                restored.append(back)
                result.added.append(back)
                result.restored.append(back.name)
        else:
            result.existing.append(name)
    return restored


def resolve(tenant: Tenant, id_or_name: str, *, removed_ok: bool = True) -> Domain:
    """The tenant's domain by `dom_…` id or by name (any case, Unicode or A-label); 404 otherwise. A
    removed domain (kept for REMOVED_KEPT_DAYS, its data readable) is 404 to changes (`removed_ok=False`):
    adding its name again restores it."""
    if has_prefix(id_or_name, IdPrefix.DOMAIN):
        domain = store.get_by_id(tenant, id_or_name)
    else:
        parsed = normalize_domain(id_or_name)
        domain = store.get_by_name(tenant, parsed.ascii) if isinstance(parsed, DomainName) else None
    if domain is None:
        raise not_found("domain")
    if not removed_ok and domain.status == DomainStatus.REMOVED:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"{domain.name} was removed; add it again to restore it with its history",
        )
    return domain


@dataclass(frozen=True)
class DomainFilter:
    """The domain list's filters. Facet filters (folder, tags, favourite, status) are served from the facet
    index; the others (search, gateway, DMARC policy) narrow what it returns, or filter the tenant's
    domain items when no facet filter is given."""

    search: str | None = None
    email_gateway: str | None = None
    dmarc_status: str | None = None
    folder_id: str | None = None  # a folder id, or "none" for domains in no folder
    tags: tuple[str, ...] = ()
    is_favorite: bool | None = None
    status: str | None = None

    @property
    def needle(self) -> str | None:
        return self.search.strip().lower() or None if self.search else None

    @property
    def equals(self) -> dict[str, str]:
        equals = {}
        if self.email_gateway:
            equals["email_gateway_lc"] = self.email_gateway.strip().lower()
        if self.dmarc_status:
            equals["dmarc_status"] = self.dmarc_status
        return equals

    @property
    def facets(self) -> list[str]:
        wanted = [facets.tag_facet(tag) for tag in self.tags]
        if self.folder_id is not None:
            wanted.append(facets.folder_facet(None if self.folder_id == facets.NO_FOLDER else self.folder_id))
        if self.is_favorite is not None:
            wanted.append(facets.favorite_facet(self.is_favorite))
        if self.status is not None:
            wanted.append(facets.status_facet(self.status))
        return wanted

    def accepts(self, domain: Domain) -> bool:
        """The same test as the filters, in memory (for domains read through the facet index)."""
        needle = self.needle
        if needle and needle not in domain.name and needle not in domain.unicode_name:
            return False
        if self.email_gateway and (domain.email_gateway or "").lower() != self.equals["email_gateway_lc"]:
            return False
        if self.dmarc_status and domain.dmarc_status != self.dmarc_status:
            return False
        return facets.matches(domain, self.facets)


@dataclass(frozen=True)
class _ReadPlan:
    """How a listing reads: through the facet value with the fewest domains (`driver`, with its count),
    or the tenant's domain items, filtering removed ones out only when the tenant has any."""

    driver: str | None
    driver_count: int
    exclude_removed: bool


def _read_plan(tenant: Tenant, filters: DomainFilter) -> _ReadPlan:
    """One read of counts: the facet values asked for, or the count of removed domains."""
    wanted = filters.facets
    if wanted:
        counts = store_facets.counts(tenant, wanted)
        driver = min(wanted, key=lambda f: (counts[f], f))
        return _ReadPlan(driver, counts[driver], exclude_removed=False)
    removed = facets.status_facet(DomainStatus.REMOVED)
    return _ReadPlan(None, 0, exclude_removed=store_facets.counts(tenant, [removed])[removed] > 0)


def _page(
    tenant: Tenant, plan: _ReadPlan, filters: DomainFilter, *, limit: int, after: str | None
) -> store.DomainPage:
    if plan.driver is not None:
        return store.list_by_facets(tenant, plan.driver, limit=limit, after=after, accept=filters.accepts)
    return store.list_page(
        tenant,
        limit=limit,
        search=filters.needle,
        after=after,
        equals=filters.equals,
        exclude_removed=plan.exclude_removed,
    )


def _total(tenant: Tenant, plan: _ReadPlan, filters: DomainFilter) -> int:
    """The tenant counter when unfiltered, a facet count for one facet filter alone, else a COUNT query
    (no facet) or a read of the smallest facet's members."""
    residual = filters.needle is not None or bool(filters.equals)
    if plan.driver is None:
        if not residual:
            return store.domain_count(tenant)
        return store.count_matching(
            tenant, search=filters.needle, equals=filters.equals, exclude_removed=plan.exclude_removed
        )
    if len(filters.facets) == 1 and not residual:
        return plan.driver_count
    total, after = 0, None
    while True:
        page = _page(tenant, plan, filters, limit=1000, after=after)
        total += len(page.items)
        if page.after is None:
            return total
        after = page.after


def list_domains(
    tenant: Tenant, *, limit: int, after: str | None, filters: DomainFilter = DomainFilter()
) -> store.DomainPage:
    return _page(tenant, _read_plan(tenant, filters), filters, limit=limit, after=after)


def count_domains(tenant: Tenant, filters: DomainFilter = DomainFilter()) -> int:
    """The total a listing with these filters holds (see `_total`)."""
    return _total(tenant, _read_plan(tenant, filters), filters)


def list_with_total(
    tenant: Tenant, *, limit: int, after: str | None, filters: DomainFilter
) -> tuple[store.DomainPage, int]:
    """A page and the listing's total, planned from one read of counts (the list endpoint's two)."""
    plan = _read_plan(tenant, filters)
    return _page(tenant, plan, filters, limit=limit, after=after), _total(tenant, plan, filters)


# A change guarded by the domain's revision is read and tried again this often when another change won.
CHANGE_ATTEMPTS = 5


def set_status(tenant: Tenant, id_or_name: str, status: DomainStatus) -> Domain:
    """Deactivated domains leave the rescan schedule; activated ones are scanned again soon."""
    for _ in range(CHANGE_ATTEMPTS):
        domain = resolve(tenant, id_or_name, removed_ok=False)
        if domain.status == status:
            return domain
        now = utcnow()
        if store.set_status(tenant, domain, status, now):
            break
    else:
        raise ApiError(ErrorCode.CONFLICT, "the domain kept changing; try again")
    domain = domain.model_copy(update={"status": status, "updated_at": now, "rev": domain.rev + 1})
    if status == DomainStatus.ACTIVE:
        queue_scans(tenant, [domain], now)
    else:
        scan_store.unschedule(tenant, domain)
    return domain


# How long a removed domain's item and data are kept before the reconciler purges them.
REMOVED_KEPT_DAYS = 30


def delete_domain(tenant: Tenant, id_or_name: str, *, purge: bool = False) -> Domain:
    """Stop monitoring the domain: removed (kept REMOVED_KEPT_DAYS days, restored by adding it again), or
    with `purge` deleted now with everything stored under it (statistics, sources, reports and records,
    scans, history: the parser worker carries that out)."""
    for _ in range(CHANGE_ATTEMPTS):
        domain = resolve(tenant, id_or_name)
        if purge:
            if store.delete(tenant, domain):
                queue_purge(tenant, domain)
                return domain
        elif domain.status == DomainStatus.REMOVED:
            return domain
        else:
            now = utcnow()
            if store.remove(tenant, domain, now):
                return domain.model_copy(update={"status": DomainStatus.REMOVED, "removed_at": now})
    raise ApiError(ErrorCode.CONFLICT, "the domain kept changing; try again")


def domain_removal_deadline(domain: Domain) -> datetime:
    """When a removed domain is purged (the reconciler's next run after this)."""
    removed_at = domain.removed_at or utcnow()
    return removed_at + timedelta(days=REMOVED_KEPT_DAYS)


def queue_purge(tenant: Tenant, domain: Domain) -> None:
    """Queue the deletion of everything stored under a deleted domain for the parser worker."""
    purge = PurgeDomain(
        account_id=tenant.account_id, environment=tenant.environment.value, domain_id=domain.id
    )
    queues.send_ingest_request(purge.model_dump_json())


def domain_count(tenant: Tenant) -> int:
    return store.domain_count(tenant)
