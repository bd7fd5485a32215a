"""The full scan of one domain: every email-related record, the SPF and DMARC analyses, DKIM keys at known
selectors, the providers they reveal, and where the mail and web servers are.

Speed: against a real resolver each query costs a round trip, so a scan's time is the length of its
longest chain of dependent queries, provided everything independent is in flight at once. All roots
(MX, SPF's TXT, DMARC, A, AAAA, NS, SOA, CAA, BIMI, MTA-STS, TLS-RPT, SRV, DS and the DKIM selectors) are
started together; the chains are MX -> host addresses -> PTR (3 round trips) and the SPF include tree
(as deep as it is). The session's memo shares the questions SPF and the MX chain both ask, so no
(name, type) is sent twice, and the roots of the chains are started first so that, with bounded
concurrency, the DKIM fan-out queues behind them rather than in front.

Queries: a scan with a `dns.plan.ScanPlan` (the scanner's) asks only names that can matter, each decided
within the longest chain's round trips: SRV services once MX shows the domain receives mail and
`_tcp.<domain>` exists, the DMARC tree walk's public-suffix names once no nearer record exists, the
common DKIM selectors only when the plan says (weekly, see `dns.plan`) and behind one `_domainkey`
probe. Without a plan every name is asked at once (a one-off scan).

Honesty: a failed lookup (SERVFAIL, timeout, budget spent) is listed in `errors` under its check and
never turned into "absent"; `dns.diff` relies on that to avoid reporting unread records as removed.

Limits: the zone decides which names a scan asks, so every scan runs within `dns.limits` (queries, CPU
time, MX hosts, SPF records, extra selectors), and the scan of a domain nobody proved to own runs within
smaller ones that also cap the names asked outside the domain.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import dns.reversename
from dns.rdtypes.ANY.PTR import PTR

from dmarcwatch import ipdata
from dmarcwatch.dns import dkim, records
from dmarcwatch.dns.detect import Detector, default_detector
from dmarcwatch.dns.dmarc import DmarcResult, DmarcStatus, check_dmarc, organizational_domain
from dmarcwatch.dns.limits import FULL, ScanLimits, scan_session
from dmarcwatch.dns.plan import ScanPlan
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.result import DnssecInfo, MxEntry, ScanError, ScanResult
from dmarcwatch.dns.spf import SpfNode, SpfResult, SpfStatus, check_spf
from dmarcwatch.domain_names import InvalidDomain, normalize_domain
from dmarcwatch.models import utcnow

# The full scan's budget and concurrency (`dns.limits.FULL`), named for callers that build a session.
SCAN_MAX_QUERIES = FULL.max_queries
SCAN_MAX_CONCURRENCY = FULL.max_concurrency
SRV_SERVICES = (
    "_submission._tcp",
    "_submissions._tcp",
    "_imap._tcp",
    "_imaps._tcp",
    "_pop3s._tcp",
    "_autodiscover._tcp",
)


@dataclass
class _Errors:
    items: list[ScanError] = field(default_factory=list)

    def add(self, check: str, result: DnsResult) -> None:
        self.items.append(ScanError(check=check, outcome=result.outcome.value, message=result.describe()))

    def add_message(self, check: str, outcome: str, message: str) -> None:
        self.items.append(ScanError(check=check, outcome=outcome, message=message))


@dataclass
class _MxPart:
    entries: list[MxEntry] = field(default_factory=list)
    # host -> its addresses, in MX preference order.
    addresses: dict[str, list[str]] = field(default_factory=dict)
    ptr: dict[str, str | None] = field(default_factory=dict)


def _address_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)


def _ptr_name(result: DnsResult) -> str | None:
    names = sorted(str(r.target).rstrip(".").lower() for r in result.rdata if isinstance(r, PTR))
    return names[0] if names else None


async def _mx_host(session: DnsSession, host: str, part: _MxPart, errors: _Errors) -> None:
    """Addresses of one MX host, then the PTR name of each: the scan's deepest fixed chain."""
    a, aaaa = await asyncio.gather(session.query(host, "A"), session.query(host, "AAAA"))
    for result in (a, aaaa):
        if result.failed:
            errors.add(f"mx_address:{host}", result)
    addresses = a.addresses() + aaaa.addresses()
    part.addresses[host] = addresses
    reverse = await asyncio.gather(
        *(session.query(dns.reversename.from_address(ip).to_text(), "PTR") for ip in addresses)
    )
    for ip, result in zip(addresses, reverse, strict=True):
        if result.failed:
            errors.add(f"ptr:{ip}", result)
        else:
            part.ptr[ip] = _ptr_name(result)


async def _mx_chain(session: DnsSession, domain: str, errors: _Errors, max_hosts: int) -> _MxPart:
    part = _MxPart()
    result = await session.query(domain, "MX")
    if result.failed:
        errors.add("mx", result)
        return part
    pairs = result.mx()
    part.entries = [MxEntry(priority=priority, host=host) for priority, host in pairs]
    hosts = list(dict.fromkeys(host for _, host in pairs if host != "."))[:max_hosts]
    for host in hosts:
        part.addresses[host] = []  # keep preference order whatever order the answers arrive in
    await asyncio.gather(*(_mx_host(session, host, part, errors) for host in hosts))
    return part


async def _soa_and_ad(session: DnsSession, domain: str) -> tuple[DnsResult, bool | None]:
    """The SOA, and whether the resolver validated it (the session asks every query with AD set, RFC 6840
    §5.7): one query gives both the record and the DNSSEC signal."""
    result = await session.query(domain, "SOA")
    return result, (result.authenticated if result.outcome in (Outcome.ANSWER, Outcome.NODATA) else None)


def _spf_targets(node: SpfNode) -> list[str]:
    """Every include/redirect target in the tree, depth first."""
    found: list[str] = []
    for term in node.terms:
        if term.child is not None:
            found.append(term.child.domain)
            found.extend(_spf_targets(term.child))
    return found


def _locate(address: str | None) -> ipdata.IpData:
    """Where an address is and whose network it is on (offline data); nothing without an address."""
    return ipdata.lookup(address) if address is not None else ipdata.NOTHING


def _apply_locations(scan: ScanResult, mx_address: str | None, a_address: str | None) -> None:
    """The servers' network and location; the AS name is the ASN file's, else geoip2fast's."""
    mx, a = _locate(mx_address), _locate(a_address)
    scan.mx_server_country, scan.mx_server_region, scan.mx_server_city = mx.country, mx.region, mx.city
    scan.mx_server_asn, scan.mx_server_asn_org = mx.asn, mx.as_org or mx.org
    scan.mx_server_lat, scan.mx_server_lon = mx.latitude, mx.longitude
    scan.a_server_country, scan.a_server_region, scan.a_server_city = a.country, a.region, a.city
    scan.a_server_asn, scan.a_server_asn_org = a.asn, a.as_org or a.org
    scan.a_server_lat, scan.a_server_lon = a.latitude, a.longitude


def _first_address(addresses: list[str]) -> str | None:
    """The first IPv4 address, else the first address: what most senders would connect to."""
    return next((ip for ip in addresses if ":" not in ip), addresses[0] if addresses else None)


def _apply_spf(scan: ScanResult, spf: SpfResult, detector: Detector, errors: _Errors) -> None:
    scan.spf = spf.record
    scan.spf_status = spf.status.value
    scan.spf_valid = None if spf.status is SpfStatus.ERROR else spf.status is SpfStatus.VALID
    if spf.record is not None:
        scan.spf_dns_lookups = spf.lookups.total
        scan.spf_lookups_main = spf.lookups.main
        scan.spf_lookups_nested = spf.lookups.nested
        scan.spf_void_lookups = spf.lookups.void
    if spf.tree is not None:
        scan.sending_services = detector.sending_services_of(_spf_targets(spf.tree))
    for issue in spf.issues:
        if issue.code.startswith("dns_"):
            errors.add_message("spf", issue.code.removeprefix("dns_"), issue.message)


def _apply_dmarc(scan: ScanResult, dmarc: DmarcResult, errors: _Errors) -> None:
    scan.dmarc = dmarc.record
    scan.dmarc_status = dmarc.status.value
    scan.dmarc_policy_domain = dmarc.policy_domain
    scan.dmarc_policy_applied = dmarc.effective_policy
    scan.dmarc_policy_source = dmarc.policy_source
    if dmarc.policy is not None:
        scan.dmarc_policy_p = dmarc.policy.p
        scan.dmarc_policy_sp = dmarc.policy.sp
        scan.dmarc_pct = dmarc.policy.pct
        scan.dmarc_rua = [uri.uri for uri in dmarc.policy.rua]
        scan.dmarc_ruf = [uri.uri for uri in dmarc.policy.ruf]
    if dmarc.status is DmarcStatus.ERROR:
        for issue in dmarc.issues:
            errors.add_message("dmarc", issue.code.removeprefix("dns_"), issue.message)


def _normalize(domain: str) -> str:
    name = normalize_domain(domain)
    if isinstance(name, InvalidDomain):
        raise ValueError(f"cannot scan {domain!r}: {name.message}")
    return name.ascii


def _fixed_names(name: str) -> list[tuple[str, str, str]]:
    """(check, name, type) of the single lookups every scan makes."""
    return [
        ("txt", name, "TXT"),
        ("a", name, "A"),
        ("aaaa", name, "AAAA"),
        ("ns", name, "NS"),
        ("caa", name, "CAA"),
        ("dnssec_ds", name, "DS"),
        ("bimi", f"default._bimi.{name}", "TXT"),
        ("mta_sts", f"_mta-sts.{name}", "TXT"),
        ("tls_rpt", f"_smtp._tls.{name}", "TXT"),
    ]


def _srv_names(name: str) -> list[tuple[str, str, str]]:
    return [(f"srv:{service}", f"{service}.{name}", "SRV") for service in SRV_SERVICES]


def _receives_mail(mx: DnsResult) -> bool:
    """MX hosts other than a null MX, or unknown (the lookup failed)."""
    if mx.failed:
        return True
    return any(host != "." for _, host in mx.mx())


async def _srv_if_mail(session: DnsSession, name: str, asked_before: bool) -> dict[str, DnsResult]:
    """The SRV services only when they can matter: the domain receives mail (or had SRV records), and
    `_tcp.<domain>` exists (NXDOMAIN there means no service name below it, RFC 8020). MX, then `_tcp`,
    then the services: as deep as the MX -> address -> PTR chain, so no slower."""
    if not asked_before and not _receives_mail(await session.query(name, "MX")):
        return {}
    if (await session.query(f"_tcp.{name}", "TXT")).nothing_below:
        return {}
    names = _srv_names(name)
    results = await asyncio.gather(*(session.query(qname, rdtype) for _, qname, rdtype in names))
    return {check: result for (check, _, _), result in zip(names, results, strict=True)}


@dataclass
class _Lookups:
    mx: _MxPart
    spf: SpfResult
    dmarc: DmarcResult
    dkim: dkim.DkimScan
    soa: DnsResult
    ad: bool | None
    # check -> result of the single lookups, SRV included (only the services asked).
    simple: dict[str, DnsResult]


async def _lookups(
    session: DnsSession,
    name: str,
    limits: ScanLimits,
    plan: ScanPlan | None,
    extra_dkim_selectors: Iterable[str],
    errors: _Errors,
) -> _Lookups:
    """Every lookup of the scan, all started at once (tasks start in creation order, so the chain roots
    reach the concurrency gate before the fan-outs)."""
    fixed = _fixed_names(name) if plan is not None else _fixed_names(name) + _srv_names(name)
    selectors = [*plan.selectors, *extra_dkim_selectors] if plan is not None else extra_dkim_selectors
    async with asyncio.TaskGroup() as group:
        mx_task = group.create_task(_mx_chain(session, name, errors, limits.mx_hosts))
        spf_task = group.create_task(check_spf(session, name, max_records=limits.spf_records))
        dmarc_task = group.create_task(check_dmarc(session, name, eager=plan is None))
        simple_tasks = {check: group.create_task(session.query(q, t)) for check, q, t in fixed}
        srv_task = group.create_task(_srv_if_mail(session, name, plan.srv_before)) if plan else None
        soa_task = group.create_task(_soa_and_ad(session, name))
        dkim_task = group.create_task(
            dkim.check_dkim(
                session,
                name,
                selectors,
                max_extra=limits.extra_dkim_selectors,
                common=plan.common if plan is not None else True,
                probe=plan is not None,
            )
        )
    simple = {check: task.result() for check, task in simple_tasks.items()}
    if srv_task is not None:
        simple.update(srv_task.result())
    soa, ad = soa_task.result()
    return _Lookups(
        mx_task.result(), spf_task.result(), dmarc_task.result(), dkim_task.result(), soa, ad, simple
    )


def _common_probed_at(found: dkim.DkimScan, plan: ScanPlan | None, at: datetime) -> datetime | None:
    """`at` when this scan asked every common selector without a failure, else the plan's last probe."""
    if plan is None or plan.common:
        common = dkim.selector_table()
        if not any(selector in common for selector, _ in found.failures):
            return at
    return plan.common_probed_at if plan is not None else None


def _assemble(
    name: str, found: _Lookups, detector: Detector, errors: _Errors, plan: ScanPlan | None, at: datetime
) -> ScanResult:
    scan = ScanResult(domain=name, scanned_at=at)
    mx_part, simple = found.mx, found.simple
    scan.mx = mx_part.entries
    scan.mx_server_ips = list(dict.fromkeys(ip for ips in mx_part.addresses.values() for ip in ips))
    scan.email_gateway = detector.email_gateway(entry.host for entry in mx_part.entries)
    primary = next((ips for ips in mx_part.addresses.values() if ips), [])

    _apply_spf(scan, found.spf, detector, errors)
    _apply_dmarc(scan, found.dmarc, errors)

    scan.dkim_selectors_found = found.dkim.found
    scan.dkim_selectors_checked = found.dkim.checked
    scan.dkim_status = found.dkim.status
    scan.dkim_common_probed_at = _common_probed_at(found.dkim, plan, at)
    for selector, failure in found.dkim.failures:
        errors.add(f"dkim:{selector}", failure)

    for check, result in (*simple.items(), ("soa", found.soa)):
        if result.failed:
            errors.add(check, result)
    scan.txt = sorted(simple["txt"].txt())
    scan.tech_in_dns = detector.tech_in_txt(scan.txt)
    scan.a = sorted(simple["a"].addresses(), key=_address_key)
    scan.aaaa = sorted(simple["aaaa"].addresses(), key=_address_key)
    _apply_locations(scan, _first_address(primary), _first_address(scan.a + scan.aaaa))
    scan.ns = records.ns(simple["ns"])
    scan.soa = records.soa(found.soa)
    scan.caa = records.caa(simple["caa"])
    scan.bimi = records.bimi(simple["bimi"])
    scan.mta_sts = records.mta_sts(simple["mta_sts"])
    scan.tls_rpt = records.tls_rpt(simple["tls_rpt"])
    scan.srv = [
        entry
        for service in SRV_SERVICES
        if (answer := simple.get(f"srv:{service}")) is not None
        for entry in records.srv(service, answer)
    ]
    ds = simple["dnssec_ds"]
    scan.dnssec = DnssecInfo(ds_present=None if ds.failed else ds.answered, ad=found.ad)
    # Answers arrive in any order: sort what was collected as they came.
    scan.ptr = {ip: mx_part.ptr[ip] for ip in scan.mx_server_ips if ip in mx_part.ptr}
    scan.errors = sorted(errors.items, key=lambda error: error.check)
    return scan


async def scan_domain(
    domain: str,
    *,
    session: DnsSession | None = None,
    extra_dkim_selectors: Iterable[str] = (),
    detector: Detector | None = None,
    limits: ScanLimits = FULL,
    plan: ScanPlan | None = None,
) -> ScanResult:
    """Scan `domain` (any form `normalize_domain` accepts; ValueError if invalid).

    `limits` (`dns.limits`): `FULL` by default, `UNVERIFIED` for a domain nobody proved to own.
    `session` defaults to a fresh one within `limits`; pass one to share a budget or watch queries (its
    own budget then applies, the other limits still do). `extra_dkim_selectors` (e.g. those seen in DMARC
    reports, in priority order) are asked besides the common ones. `detector` defaults to the packaged
    provider tables.

    `plan` (`dns.plan`): without one every name is asked at once, the common selectors included (a
    one-off scan: the fewest round trips). With one, only what can matter: the SRV services when the
    domain receives mail (`_srv_if_mail`), the DMARC tree walk above the organizational domain when
    needed, the common selectors when the plan says (behind a `_domainkey` probe), and the plan's
    selectors before `extra_dkim_selectors`.
    """
    name = _normalize(domain)
    # Tables loaded once per process (the public suffix list takes ~0.2 s): load them before any query
    # is in flight, so that a cold start's loading cannot eat into the queries' timeouts.
    detector = detector or default_detector()
    organizational_domain(name)
    dkim.selector_table()
    owned, session = session is None, session or scan_session(name, limits)
    started, sent_before, scanned_at = time.perf_counter(), session.queries_sent, utcnow()
    errors = _Errors()
    try:
        found = await _lookups(session, name, limits, plan, extra_dkim_selectors, errors)
    finally:
        if owned:
            session.close()
    scan = _assemble(name, found, detector, errors, plan, scanned_at)
    scan.queries_sent = session.queries_sent - sent_before
    scan.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return scan


def scan(
    domain: str,
    *,
    extra_dkim_selectors: Iterable[str] = (),
    detector: Detector | None = None,
    limits: ScanLimits = FULL,
    plan: ScanPlan | None = None,
) -> ScanResult:
    """`scan_domain` in a fresh event loop, for synchronous callers (the CLI)."""
    return asyncio.run(
        scan_domain(
            domain, extra_dkim_selectors=extra_dkim_selectors, detector=detector, limits=limits, plan=plan
        )
    )
