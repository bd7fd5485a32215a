"""What one domain contributes to the dashboard counters of each scope it is in.

A scope is the whole environment (`all`), the domain's folder (`folder:<id>` or `folder:none`) or one of
its tags (`tag:<tag>`): the summary's optional filters. Each scope's counter item holds the sum of its
domains' contributions; every writer that changes a domain's scopes or its scan summary adds the
difference of the before and after contributions in the transaction of the change, so the summary
reads one item and never the domains. `needs_attention` is defined here, once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from dmarcwatch.facets import folder_facet, tag_facet
from dmarcwatch.models import Domain, DomainStatus

ALL = "all"
DOMAINS = "domains"
UNSCANNED = "unscanned"
ATTENTION = "attention"
DMARC_PREFIX = "dmarc:"
SPF_PREFIX = "spf:"
GATEWAY_PREFIX = "gw:"
# The hour (UTC, yyyymmddhh) of each domain's latest scan: the summary's freshness sums the last 24 or 168.
SCANNED_PREFIX = "scanned:"
# Messages and DMARC passes per day (YYYY-MM-DD) of the scope's domains' reports: added by the ingest with
# each report's statistics, and moved with a domain (its last STATS_DAYS days) when its scopes change.
# The day (YYYY-MM-DD) the domain's registration expires (WHOIS/RDAP): expiring_30d sums the next 30.
EXPIRES_PREFIX = "expires:"
MESSAGES_PREFIX = "m:"
PASSES_PREFIX = "p:"
STATS_DAYS = 31

# A domain's reported messages and DMARC passes per day.
Daily = dict[str, tuple[int, int]]

DMARC_VALUES = ("reject", "quarantine", "none", "missing")
SPF_VALUES = ("valid", "over_limit", "missing", "invalid", "error")
# Policies and SPF states that need the owner's attention (the dashboard's `needs_attention_count`).
WEAK_DMARC = frozenset({"none", "missing"})
BROKEN_SPF = frozenset({"missing", "invalid", "over_limit"})


def scanned_hour(at: datetime) -> str:
    return at.strftime("%Y%m%d%H")


def needs_attention(domain: Domain) -> bool:
    """A scanned domain whose DMARC policy does not protect (none, or no valid record) or whose SPF is
    missing, invalid or over the lookup limit. Unscanned domains are counted apart (`unscanned`)."""
    if domain.last_scan_at is None:
        return False
    return domain.dmarc_status in WEAK_DMARC or domain.spf_status in BROKEN_SPF


def daily_counters(daily: Daily) -> Counter[str]:
    counts: Counter[str] = Counter()
    for day, (messages, passes) in daily.items():
        counts[MESSAGES_PREFIX + day] += messages
        counts[PASSES_PREFIX + day] += passes
    return counts


def contribution(domain: Domain, daily: Daily | None = None) -> Counter[str]:
    """The counters one domain adds to each of its scopes (with its recent daily statistics, if given)."""
    counts: Counter[str] = Counter({DOMAINS: 1})
    if daily:
        counts.update(daily_counters(daily))
    if domain.registration_expires_at is not None:
        counts[EXPIRES_PREFIX + domain.registration_expires_at.date().isoformat()] += 1
    if domain.last_scan_at is None:
        counts[UNSCANNED] += 1
        return counts
    counts[DMARC_PREFIX + (domain.dmarc_status or "missing")] += 1
    counts[SPF_PREFIX + (domain.spf_status or "error")] += 1
    counts[GATEWAY_PREFIX + (domain.email_gateway or "none")] += 1
    counts[SCANNED_PREFIX + scanned_hour(domain.last_scan_at)] += 1
    if needs_attention(domain):
        counts[ATTENTION] += 1
    return counts


def scopes_of(domain: Domain) -> frozenset[str]:
    """The dashboard scopes of the domain (none while it is removed)."""
    if domain.status == DomainStatus.REMOVED:
        return frozenset()
    return frozenset({ALL, folder_facet(domain.folder_id), *(tag_facet(t) for t in domain.tags)})


def deltas(
    changes: Iterable[tuple[Domain | None, Domain | None]], daily: dict[str, Daily] | None = None
) -> dict[str, Counter[str]]:
    """Per scope, the counters to add when each domain goes from `before` to `after` (None: absent), its
    daily statistics (`daily`, by domain id) moving with it; zero entries and unchanged scopes are left
    out."""
    out: dict[str, Counter[str]] = {}
    daily = daily or {}
    for before, after in changes:
        if before is not None:
            for scope in scopes_of(before):
                out.setdefault(scope, Counter()).subtract(contribution(before, daily.get(before.id)))
        if after is not None:
            for scope in scopes_of(after):
                out.setdefault(scope, Counter()).update(contribution(after, daily.get(after.id)))
    return {
        scope: Counter({k: v for k, v in counts.items() if v})
        for scope, counts in out.items()
        if any(counts.values())
    }
