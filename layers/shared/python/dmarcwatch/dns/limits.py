"""How much DNS one scan may use, and where: the full limits for domains whose owner proved ownership, and
smaller ones for domains anyone could have added.

The zone being scanned decides which names a scan asks: its SPF includes and redirects, its MX hosts (and
through them the PTR names of their addresses), its rua destinations. Monitoring needs no proof of
ownership, so without care a tenant could publish a zone whose SPF tree is a fresh set of random names
under a victim's domain at every scan, and use the scanner to send uncached queries there (a
random-subdomain attack through our resolvers; review M2).

A scan of an unverified domain therefore has a smaller query budget, resolves fewer MX hosts, follows a
smaller SPF tree, asks fewer selectors from reports and, above all, asks at most `foreign_names` distinct
names outside the scanned domain's organizational domain. A question beyond a limit is not sent and the
check reports `budget_exhausted` (never "absent"). Verifying the domain lifts these limits.

Every scan also has a CPU budget (`max_cpu_seconds`): the parsers are linear, but a zone is still free to
publish the most expensive records it can, and the scanner is shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from dmarcwatch.dns.dmarc import organizational_domain
from dmarcwatch.dns.resolver import DnsSession
from dmarcwatch.dns.stub import StubResolver


@dataclass(frozen=True)
class ScanLimits:
    # Queries sent in all, and at once.
    max_queries: int
    max_concurrency: int
    # CPU time of the scan's thread; once spent no further question is sent.
    max_cpu_seconds: float
    # MX hosts whose addresses (and their PTR names) are looked up.
    mx_hosts: int
    # SPF records followed through include and redirect (the top one included).
    spf_records: int
    # Selectors from reports asked besides the common list.
    extra_dkim_selectors: int
    # Distinct names outside the domain's organizational domain; None: no limit.
    foreign_names: int | None


# A scan asks ~50 DKIM selectors (+ up to 50 from reports), ~25 fixed names, 2-3 per MX host and an SPF
# tree of up to ~100 queries; 400 covers a worst case without letting a hostile zone run away. 64 at once
# lets the whole first wave (~85 queries) be mostly in flight together. MX hosts: SPF's `mx` limit, for
# the same reason. SPF records: a tree of 40 is far over SPF's lookup limit already.
FULL = ScanLimits(
    max_queries=400,
    max_concurrency=64,
    max_cpu_seconds=10.0,
    mx_hosts=10,
    spf_records=40,
    extra_dkim_selectors=50,
    foreign_names=None,
)
# Enough for a typical domain (an SPF tree of a few providers, three MX hosts, their PTR names, a report
# destination's authorization), not for a tree that fans out under somebody else's domain.
UNVERIFIED = ScanLimits(
    max_queries=150,
    max_concurrency=32,
    max_cpu_seconds=5.0,
    mx_hosts=3,
    spf_records=10,
    extra_dkim_selectors=10,
    foreign_names=30,
)


class ForeignNames:
    """A `DnsSession` admission policy: at most `limit` distinct names outside `home`'s organizational
    domain (each name counts once, whatever types are asked of it)."""

    def __init__(self, home: str, limit: int) -> None:
        self.home = organizational_domain(home)
        self.limit = limit
        self.names: set[str] = set()

    def __call__(self, name: str) -> str | None:
        if name == self.home or name.endswith("." + self.home) or name in self.names:
            return None
        if len(self.names) >= self.limit:
            return f"an unverified domain's scan asks at most {self.limit} names outside {self.home}"
        self.names.add(name)
        return None


def scan_session(domain: str, limits: ScanLimits, resolver: StubResolver | None = None) -> DnsSession:
    """A fresh session for one scan of `domain` (A-label) within `limits`, over `resolver` (shared by the
    scans of a batch; default: its own, from settings). Create it in the scan's loop."""
    admit = ForeignNames(domain, limits.foreign_names) if limits.foreign_names is not None else None
    return DnsSession(
        resolver,
        max_queries=limits.max_queries,
        max_concurrency=limits.max_concurrency,
        max_cpu_seconds=limits.max_cpu_seconds,
        admit=admit,
    )
