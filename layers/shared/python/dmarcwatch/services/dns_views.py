"""What the DNS endpoints show: scan summaries, latest results, records to publish, history."""

from __future__ import annotations

from typing import Any

from dmarcwatch.dns.result import ScanResult
from dmarcwatch.errors import not_found
from dmarcwatch.models import Account, Environment, Tenant, iso, utcnow
from dmarcwatch.scanning import on_demand
from dmarcwatch.scanning.service import applied_policy
from dmarcwatch.services import accounts, domains
from dmarcwatch.store import scans as scan_store


def summary(result: ScanResult) -> dict[str, Any]:
    return {
        "dmarc": {
            "found": result.dmarc is not None,
            "record": result.dmarc,
            # The record's own p, and what applies to mail from this name (a parent's sp or np for a
            # subdomain without its own record).
            "policy": result.dmarc_policy_p,
            "policy_applied": applied_policy(result),
            "policy_source": result.dmarc_policy_source,
            "policy_domain": result.dmarc_policy_domain,
            "status": result.dmarc_status,
        },
        "spf": {
            "found": result.spf is not None,
            "record": result.spf,
            "valid": result.spf_valid,
            "status": result.spf_status,
            "dns_lookups": result.spf_dns_lookups,
        },
    }


def scan_now(tenant: Tenant, domain_ref: str) -> dict[str, Any]:
    """Scan now; within the on-demand cooldown, the latest stored result marked `cached` (see
    `scanning.on_demand` for the cooldown and the hourly budget, and why they answer as they do)."""
    domain = domains.resolve(tenant, domain_ref, removed_ok=False)
    now = utcnow()
    outcome = on_demand.scan_now(tenant, domain, now)
    if isinstance(outcome, on_demand.Cooldown):
        found = scan_store.latest(tenant, domain.id)
        if found is None:
            raise on_demand.cooling_down(outcome, now)
        result = ScanResult.model_validate(found.result)
        return {
            **summary(result),
            "changes": [],
            "result": result.model_dump(mode="json"),
            "cached": True,
            "next_scan_allowed_at": iso(outcome.until),
        }
    return {
        **summary(outcome.result),
        "changes": [c.model_dump() for c in outcome.changes],
        "result": outcome.result.model_dump(mode="json"),
        "cached": False,
        "next_scan_allowed_at": iso(now + on_demand.ON_DEMAND_COOLDOWN),
    }


def refresh(tenant: Tenant, domain_ref: str) -> dict[str, Any]:
    """Queue a rescan; `queued` is false with a `reason` within the cooldown, while a request is queued
    already, or without a scan queue (`scanning.on_demand`)."""
    domain = domains.resolve(tenant, domain_ref, removed_ok=False)
    outcome = on_demand.refresh(tenant, domain, utcnow())
    return {
        "domain_id": domain.id,
        "queued": outcome.queued,
        "reason": outcome.reason,
        "retry_after": outcome.retry_after,
    }


def latest_or_none(tenant: Tenant, domain_id: str) -> dict[str, Any] | None:
    found = scan_store.latest(tenant, domain_id)
    if found is None:
        return None
    return {
        "result": found.result,
        "previous": found.previous,
        "scanned_at": found.scanned_at,
        "scan_count": found.scan_count,
    }


def latest(tenant: Tenant, domain_ref: str) -> dict[str, Any]:
    domain = domains.resolve(tenant, domain_ref)
    found = latest_or_none(tenant, domain.id)
    if found is None:
        raise not_found("scan result (none yet: POST .../scan or wait for the scheduled scan)")
    return found


def dns_records(tenant: Tenant, account: Account, domain_ref: str) -> dict[str, Any]:
    domain = domains.resolve(tenant, domain_ref)
    found = scan_store.latest(tenant, domain.id)
    result = ScanResult.model_validate(found.result) if found else None
    rua = accounts.inbound_address(account, Environment(tenant.environment))
    # Publishing the recommended record at this name must not weaken what applies to it today.
    policy = (applied_policy(result) if result else None) or "none"
    recommended_dmarc = f"v=DMARC1; p={policy}; rua=mailto:{rua}"
    policy_domain = result.dmarc_policy_domain if result else None
    return {
        "domain": domain.name,
        "scanned_at": found.scanned_at if found else None,
        "dmarc": {
            "name": f"_dmarc.{domain.name}",
            "found": result.dmarc if result else None,
            "found_at": f"_dmarc.{policy_domain}" if policy_domain else None,
            "policy": result.dmarc_policy_p if result else None,
            "policy_applied": applied_policy(result) if result else None,
            "policy_source": result.dmarc_policy_source if result else None,
            "recommended": recommended_dmarc,
        },
        "spf": {
            "name": domain.name,
            "found": result.spf if result else None,
            "status": result.spf_status if result else None,
        },
        "bimi": {
            "name": f"default._bimi.{domain.name}",
            "found": result.bimi.model_dump() if result and result.bimi else None,
        },
        "dkim": [s.model_dump() for s in result.dkim_selectors_found] if result else [],
    }


def changes(
    tenant: Tenant, domain_ref: str, limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the domain's DNS changes, newest first, in seed 002's names."""
    domain = domains.resolve(tenant, domain_ref)
    rows, position = scan_store.list_changes(tenant, domain.id, limit=limit, before=before)
    entries = [
        {
            "id": row.id,
            "domain_name": domain.name,
            "field_name": row.field,
            "old_value": row.old,
            "new_value": row.new,
            "detected_at": row.detected_at,
        }
        for row in rows
    ]
    return entries, position
