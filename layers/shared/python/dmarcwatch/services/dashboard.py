"""The dashboard summary (seed 002's fields plus messages_30d, pass_rate_30d, expiring_30d), read from the
counters of one scope (`portfolio_metrics`): the environment, a folder or a tag. The writers keep them;
the reconciler recomputes them nightly from the domains."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dmarcwatch import portfolio_metrics as metrics
from dmarcwatch.events import DnsChanged, EventType
from dmarcwatch.facets import folder_facet, tag_facet
from dmarcwatch.models import Tenant, utcnow
from dmarcwatch.store import events as event_store
from dmarcwatch.store import facets as facet_store

RECENT_CHANGES = 20
RECENT_WINDOW = timedelta(days=7)
# Events of the window read at most, looking for changes of a folder's or tag's domains.
RECENT_SCAN_LIMIT = 1000


def scope_of(folder_id: str | None, tag: str | None) -> str:
    if folder_id is not None:
        return folder_facet(None if folder_id == "none" else folder_id)
    if tag is not None:
        return tag_facet(tag)
    return metrics.ALL


def _share(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "percentage": round(100 * count / total, 1) if total else 0.0}


def _prefixed(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): value for name, value in counters.items() if name.startswith(prefix)}


def _freshness(counters: Mapping[str, int], total: int, now: datetime) -> dict[str, Any]:
    hours = _prefixed(counters, metrics.SCANNED_PREFIX)
    day = metrics.scanned_hour(now - timedelta(hours=23))
    week = metrics.scanned_hour(now - timedelta(hours=167))
    last_24h = sum(n for hour, n in hours.items() if hour >= day)
    last_7d = sum(n for hour, n in hours.items() if hour >= week)
    return {
        "scanned_last_24h": last_24h,
        "scanned_last_7d": last_7d,
        "percentage_24h": _share(last_24h, total)["percentage"],
        "percentage_7d": _share(last_7d, total)["percentage"],
    }


def _messages(counters: Mapping[str, int], now: datetime) -> tuple[int, float | None]:
    first = (now.date() - timedelta(days=29)).isoformat()
    messages = sum(n for day, n in _prefixed(counters, metrics.MESSAGES_PREFIX).items() if day >= first)
    passes = sum(n for day, n in _prefixed(counters, metrics.PASSES_PREFIX).items() if day >= first)
    return messages, (round(passes / messages, 4) if messages else None)


def _expiring(counters: Mapping[str, int], now: datetime) -> int:
    """Domains whose registration expires today or within the next 30 days (not those already expired)."""
    first, last = now.date().isoformat(), (now.date() + timedelta(days=30)).isoformat()
    return sum(n for day, n in _prefixed(counters, metrics.EXPIRES_PREFIX).items() if first <= day <= last)


def _recent_changes(tenant: Tenant, scope: str, now: datetime) -> list[dict[str, Any]]:
    limit = RECENT_CHANGES if scope == metrics.ALL else RECENT_SCAN_LIMIT
    found = event_store.events_since(
        tenant.account_id,
        tenant.environment.value,
        EventType.DNS_CHANGED.value,
        now - RECENT_WINDOW,
        limit=limit,
    )
    changes = [(e, e.payload) for e in found if isinstance(e.payload, DnsChanged)]
    if scope != metrics.ALL:
        members = facet_store.members_among(tenant, scope, {p.domain for _, p in changes})
        changes = [(e, p) for e, p in changes if p.domain in members]
    return [
        {
            "id": event.id,
            "domain_id": payload.domain_id,
            "domain_name": payload.domain,
            "field_name": payload.field,
            "old_value": payload.old,
            "new_value": payload.new,
            "detected_at": event.created_at.isoformat(),
        }
        for event, payload in changes[:RECENT_CHANGES]
    ]


def summary(tenant: Tenant, *, folder_id: str | None = None, tag: str | None = None) -> dict[str, Any]:
    now = utcnow()
    scope = scope_of(folder_id, tag)
    counters = facet_store.counters(tenant, scope)
    total = counters.get(metrics.DOMAINS, 0)
    gateways = sorted(_prefixed(counters, metrics.GATEWAY_PREFIX).items(), key=lambda g: (-g[1], g[0]))
    dmarc = _prefixed(counters, metrics.DMARC_PREFIX)
    spf = _prefixed(counters, metrics.SPF_PREFIX)
    messages, pass_rate = _messages(counters, now)
    return {
        "total_domains": total,
        "email_gateway_distribution": [
            {"gateway_name": name, **_share(count, total)} for name, count in gateways if count > 0
        ],
        "dmarc_distribution": {value: _share(dmarc.get(value, 0), total) for value in metrics.DMARC_VALUES},
        "spf_status": {value: spf.get(value, 0) for value in metrics.SPF_VALUES},
        "scan_freshness": _freshness(counters, total, now),
        "recent_changes": _recent_changes(tenant, scope, now),
        "needs_attention_count": counters.get(metrics.ATTENTION, 0),
        "messages_30d": messages,
        "pass_rate_30d": pass_rate,
        "expiring_30d": _expiring(counters, now),
    }
