"""Domain scans per second, DNS queries per domain and CPU per query, against generated zones on a local
knotd, at 0 ms and at 20 ms of added round trip (../shared/tools/dns-delay-proxy in front of knotd), for
dmarcwatch and, in the same run on the same zones, for checkdmarc (`pip install checkdmarc`, the `bench`
extra); then issue 13's scan-engine targets, held or not, from this run's figures.

The zones: 500 tenant domains (Google Workspace-like, Microsoft 365-like and Mimecast-fronted mixes with
SPF includes, DKIM keys, DMARC with internal or external rua, some BIMI, MTA-STS, TLS-RPT, CAA, SRV) and
the provider zones they point at, under `.test`, generated into a temporary directory.

dmarcwatch runs as the scanner does (`dns.plan`; the scans in flight share one resolver: its socket and
its answer cache, `dns.cache`, so provider infrastructure such as MX hosts, their PTR names and SPF
includes is asked once): first scans (the common DKIM selectors, behind a `_domainkey` probe) of all 500
domains SCANS_AT_ONCE at a time over one resolver for the run; then their scheduled rescans a day later
(the selectors found, no common list); then a sample of cold first scans one at a time, each on a fresh
resolver (latency). The scanner Lambda shares a resolver only within its SQS batch (`batch_size` of the
scanner in `api/registry.py`, 5): one resolver for 500 domains is the most sharing there can be, so at
0 ms the first scans also run in the scanner's batches (a fresh resolver per batch, as many batches at
once as make SCANS_AT_ONCE) and cold (a fresh resolver per scan), and the first-scan query target is
shown for all three. At 0 ms, the full scan that asks every name at once runs too, as the reference of
the findings: the bench prints on how many domains the planned first scans found exactly what it found,
on how many the shared-resolver first scans found what the cold ones found, and on how many the rescans
report no change. checkdmarc is synchronous (`check_domains` walks
its list one domain after another), so it runs one at a time on a sample, with its cross-domain DNS
caches cleared before each domain so both tools do cold scans; its HTTPS fetches (MTA-STS policy, BIMI
logo/certificate) are stubbed out. Every socket is held to loopback.

Queries are counted where they leave the process, the same way for both tools: each UDP datagram sent and
each query dnspython writes to a TCP connection, retries included. CPU per query is the process's CPU time
over the run divided by its queries (analysis included). The tools do not check the same things:
dmarcwatch also asks the DKIM selectors, the SRV services of domains that receive mail, CAA, the PTR of MX
hosts; checkdmarc validates DNSSEC signatures (DNSKEY over TCP). Figures are wall-clock on this machine,
printed, not asserted; on a shared machine compare the ratios within one run.

Usage: .venv/bin/python bench/scan.py   (env: BENCH_DOMAINS, BENCH_SCANS_AT_ONCE, BENCH_SEQUENTIAL,
BENCH_CHECKDMARC_0MS, BENCH_CHECKDMARC_20MS)
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "layers" / "shared" / "python"))

import dns.asyncquery  # noqa: E402
import dns.message  # noqa: E402
import dns.nameserver  # noqa: E402
import dns.query  # noqa: E402

from dmarcwatch.api.registry import WORKER_FUNCTIONS  # noqa: E402
from dmarcwatch.config import Settings  # noqa: E402
from dmarcwatch.dns.detect import default_detector  # noqa: E402
from dmarcwatch.dns.diff import diff_results  # noqa: E402
from dmarcwatch.dns.limits import FULL, scan_session  # noqa: E402
from dmarcwatch.dns.plan import ScanPlan, plan_scan  # noqa: E402
from dmarcwatch.dns.resolver import build_resolver  # noqa: E402
from dmarcwatch.dns.result import ScanResult  # noqa: E402
from dmarcwatch.dns.scan import scan_domain  # noqa: E402
from dmarcwatch.dns.stub import StubResolver  # noqa: E402
from dmarcwatch.models import utcnow  # noqa: E402
from tests.dns.knot import KnotServer, free_port  # noqa: E402

DOMAINS = int(os.environ.get("BENCH_DOMAINS", "500"))
SCANS_AT_ONCE = int(os.environ.get("BENCH_SCANS_AT_ONCE", "10"))
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "25"))
CHECKDMARC_0MS = int(os.environ.get("BENCH_CHECKDMARC_0MS", "100"))
CHECKDMARC_20MS = int(os.environ.get("BENCH_CHECKDMARC_20MS", "15"))
PROXY = ROOT.parent / "shared" / "tools" / "dns-delay-proxy"
# Scans that share a resolver in the scanner Lambda: one SQS batch.
SCANNER_BATCH = next(worker.batch_size for worker in WORKER_FUNCTIONS if worker.name == "scanner")
TIMEOUT = 2.0


# --- loopback only, and every query counted where it leaves ------------------------------------------------


def _loopback(address: object) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return str(host) == "localhost"
    return ip.is_loopback or ip.is_unspecified  # the unspecified address is this host (binding, mostly)


class Counter:
    """DNS queries sent by this process: UDP datagrams and queries written to a TCP connection."""

    queries = 0


def hold_to_loopback_and_count() -> None:
    """Refuse any connection, datagram or name lookup that would leave the machine, and count every DNS
    query where it leaves either tool, the same way for both: each UDP datagram sent (`sendto`, which
    dnspython's query functions use, or `send` on a connected datagram socket, which dmarcwatch's stub
    resolver uses; only DNS is sent over UDP here) and each query dnspython writes to a TCP connection
    (`dns.query.send_tcp` for checkdmarc, `dns.asyncquery.send_tcp` for dmarcwatch). Retries count."""
    original_connect, original_sendto = socket.socket.connect, socket.socket.sendto
    original_send = socket.socket.send
    original_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise OSError(f"bench: non-loopback connect to {address} refused")
        original_connect(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if not _loopback(args[-1]):
            raise OSError(f"bench: non-loopback datagram to {args[-1]} refused")
        Counter.queries += 1
        return int(original_sendto(self, data, *args))

    def send(self: socket.socket, data: Any, *args: Any) -> int:
        if self.type == socket.SOCK_DGRAM:
            Counter.queries += 1
        return int(original_send(self, data, *args))

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host):
            raise socket.gaierror(f"bench: name lookup of {host} refused")
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.socket.send = send  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    sync_send_tcp, async_send_tcp = dns.query.send_tcp, dns.asyncquery.send_tcp

    def send_tcp(*args: Any, **kwargs: Any) -> Any:
        Counter.queries += 1
        return sync_send_tcp(*args, **kwargs)

    async def asend_tcp(*args: Any, **kwargs: Any) -> Any:
        Counter.queries += 1
        return await async_send_tcp(*args, **kwargs)

    dns.query.send_tcp = send_tcp
    dns.asyncquery.send_tcp = asend_tcp


# --- zones -----------------------------------------------------------------------------------------------


def _keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def one(bits: int) -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    return one(2048), one(1024)


def _txt(text: str) -> str:
    """A TXT rdata split into character-strings of at most 255 octets."""
    return " ".join(f'"{text[i : i + 250]}"' for i in range(0, len(text), 250))


def _zone(origin: str, body: list[str]) -> str:
    head = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        f"@ SOA ns1.{origin}. hostmaster.{origin}. 2024060101 3600 600 86400 300",
        f"@ NS ns1.{origin}.",
        "ns1 A 127.0.0.1",
    ]
    return "\n".join(head + body) + "\n"


def _reverse_zones(ptrs: dict[str, str]) -> dict[str, str]:
    """Reverse zones (/24 for IPv4, /32 for IPv6) holding the given PTR names."""
    zones: dict[str, list[str]] = {}
    for ip, target in ptrs.items():
        labels = ipaddress.ip_address(ip).reverse_pointer.split(".")
        cut = 1 if ":" not in ip else 24  # host part: 1 label of IPv4, 24 nibbles of IPv6
        zones.setdefault(".".join(labels[cut:]), []).append(f"{'.'.join(labels[:cut])} PTR {target}.")
    return {zone: _zone(zone, lines) for zone, lines in zones.items()}


GOOGLE_MX = [
    (1, "aspmx.l", "142.250.27.26", "2a00:1450:4013:c01::1a"),
    (5, "alt1.aspmx.l", "142.250.153.27", "2a00:1450:4013:c16::1b"),
    (5, "alt2.aspmx.l", "142.251.9.27", "2a00:1450:4025:c03::1b"),
    (10, "alt3.aspmx.l", "142.250.150.27", None),
    (10, "alt4.aspmx.l", "142.250.153.26", None),
]


def provider_zones() -> dict[str, str]:
    ptrs: dict[str, str] = {}
    google = [
        '_spf TXT "v=spf1 include:_netblocks.google.test include:_netblocks2.google.test '
        'include:_netblocks3.google.test ~all"',
        '_netblocks TXT "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 '
        'ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ~all"',
        '_netblocks2 TXT "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 '
        'ip6:2607:f8b0:4000::/36 ~all"',
        '_netblocks3 TXT "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.253.56.0/21 ~all"',
    ]
    for _, host, v4, v6 in GOOGLE_MX:
        google.append(f"{host} A {v4}")
        ptrs[v4] = f"{host.replace('.', '-')}.1e100.test"
        if v6:
            google.append(f"{host} AAAA {v6}")
            ptrs[v6] = f"{host.replace('.', '-')}.1e100.test"
    mimecast = [
        "eu-smtp-inbound-1 A 195.130.217.11",
        "eu-smtp-inbound-2 A 195.130.217.12",
        '_netblocks TXT "v=spf1 ip4:195.130.217.0/24 ip4:91.220.42.0/24 ip4:146.101.78.0/24 ~all"',
    ]
    ptrs["195.130.217.11"] = "eu-smtp-inbound-1.mimecast.test"
    ptrs["195.130.217.12"] = "eu-smtp-inbound-2.mimecast.test"
    zones = {
        "google.test": _zone("google.test", google),
        "mimecast.test": _zone("mimecast.test", mimecast),
        "sendgrid.test": _zone(
            "sendgrid.test", ['@ TXT "v=spf1 ip4:167.89.0.0/17 ip4:208.117.48.0/20 ~all"']
        ),
        "mcsv.test": _zone(
            "mcsv.test", ['servers TXT "v=spf1 ip4:205.201.128.0/20 ip4:198.2.128.0/18 ?all"']
        ),
        "mailgun.test": _zone(
            "mailgun.test",
            [
                '@ TXT "v=spf1 include:_spf1.mailgun.test include:_spf2.mailgun.test ~all"',
                '_spf1 TXT "v=spf1 ip4:209.61.151.0/24 ip4:166.78.68.0/22 ~all"',
                '_spf2 TXT "v=spf1 ip4:192.237.158.0/23 ip4:23.253.182.0/23 ~all"',
            ],
        ),
        # An external report destination that authorizes every domain (wildcard _report._dmarc record).
        "rua-vendor.test": _zone("rua-vendor.test", ['*._report._dmarc TXT "v=DMARC1"']),
    }
    zones.update(_reverse_zones(ptrs))
    return zones


def tenant_zones(count: int, rng: random.Random) -> tuple[dict[str, str], list[str]]:
    key2048, key1024 = _keys()
    zones: dict[str, str] = {}
    outlook = [
        '@ TXT "v=spf1 include:spf.protection.outlook.test -all"',
        'spf.protection TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:104.47.0.0/17 '
        'include:spfd.protection.outlook.test -all"',
        'spfd.protection TXT "v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 -all"',
    ]
    ptrs: dict[str, str] = {}
    names = []
    for i in range(count):
        name = f"co{i:04d}.test"
        names.append(name)
        kind = rng.choices(["google", "m365", "mimecast"], weights=[45, 40, 15])[0]
        body = [f"@ A 104.16.{rng.randrange(256)}.{rng.randrange(1, 255)}", "www A 104.16.1.1"]
        if rng.random() < 0.5:
            body.append(f"@ AAAA 2606:4700::{rng.randrange(1, 65535):x}")
        includes: list[str] = []
        selectors: list[tuple[str, str]] = []
        if kind == "google":
            body += [f"@ MX {pref} {host}.google.test." for pref, host, _, _ in GOOGLE_MX]
            includes.append("_spf.google.test")
            selectors.append(("google", f"v=DKIM1; k=rsa; p={key2048}"))
            body.append(f'@ TXT "google-site-verification={rng.getrandbits(128):032x}"')
        else:
            tenant = f"{name.replace('.', '-')}.mail.protection"
            address = f"52.101.{rng.randrange(64, 72)}.{rng.randrange(1, 255)}"
            outlook.append(f"{tenant} A {address}")
            ptrs[address] = f"mail-{address.replace('.', '-')}.outbound.protection.outlook.test"
            includes.append("spf.protection.outlook.test")
            selectors += [
                ("selector1", f"v=DKIM1; k=rsa; p={key2048}"),
                ("selector2", f"v=DKIM1; k=rsa; p={key1024}"),
            ]
            body.append(f'@ TXT "MS=ms{rng.randrange(10**7, 10**8)}"')
            body.append("_autodiscover._tcp SRV 0 0 443 autodiscover.outlook.test.")
            if kind == "m365":
                body.append(f"@ MX 0 {tenant}.outlook.test.")
            else:
                body += [
                    "@ MX 10 eu-smtp-inbound-1.mimecast.test.",
                    "@ MX 20 eu-smtp-inbound-2.mimecast.test.",
                ]
                includes.append("_netblocks.mimecast.test")
        for extra, selector, share in (("sendgrid.test", "s1", 0.3), ("servers.mcsv.test", "k1", 0.2)):
            if rng.random() < share:
                includes.append(extra)
                selectors.append((selector, f"v=DKIM1; k=rsa; p={key1024}"))
        if rng.random() < 0.1:
            includes.append("mailgun.test")
        body.append(
            "@ TXT " + _txt("v=spf1 " + " ".join(f"include:{target}" for target in includes) + " ~all")
        )
        body += [f"{selector}._domainkey TXT {_txt(record)}" for selector, record in selectors]
        if rng.random() < 0.9:
            policy = rng.choice(["none", "quarantine", "reject"])
            rua = f"mailto:dmarc@{name}"
            if rng.random() < 0.4:
                rua += ",mailto:agg@rua-vendor.test"
            body.append(f'_dmarc TXT "v=DMARC1; p={policy}; rua={rua}"')
        if rng.random() < 0.2:
            body.append(f'default._bimi TXT "v=BIMI1; l=https://{name}/logo.svg; a=https://{name}/vmc.pem"')
        if rng.random() < 0.3:
            body.append('_mta-sts TXT "v=STSv1; id=20240601T000000Z"')
            body.append(f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{name}"')
        if rng.random() < 0.5:
            body.append('@ CAA 0 issue "letsencrypt.org"')
        zones[name] = _zone(name, body)
    zones["outlook.test"] = _zone("outlook.test", outlook)
    zones.update(_reverse_zones(ptrs))
    return zones, names


# --- servers ---------------------------------------------------------------------------------------------


@contextmanager
def delay_proxy(upstream: int, rtt_ms: int) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(PROXY),
            "--listen",
            str(port),
            "--upstream",
            str(upstream),
            "--rtt-ms",
            str(rtt_ms),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                dns.query.udp(
                    dns.message.make_query("google.test.", "SOA"), "127.0.0.1", port=port, timeout=0.5
                )
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("dns-delay-proxy did not answer") from None
        yield port
    finally:
        process.terminate()
        process.wait(timeout=5)


# --- runs ------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    tool: str
    rtt_ms: int
    mode: str
    domains: int
    seconds: float
    queries: int
    cpu_seconds: float
    scan_ms: list[float]
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.domains / self.seconds

    @property
    def per_domain(self) -> float:
        return self.queries / self.domains

    @property
    def cpu_ms_per_query(self) -> float:
        return self.cpu_seconds * 1000 / max(self.queries, 1)

    def line(self) -> str:
        median = statistics.median(self.scan_ms) if self.scan_ms else float("nan")
        return (
            f"{self.tool:<10} {self.rtt_ms:>2} ms  {self.mode:<58} {self.domains:>4} domains  "
            f"{self.seconds:6.2f} s  {self.rate:6.1f} domains/s  median scan {median:6.1f} ms  "
            f"{self.per_domain:5.1f} queries/domain  {self.cpu_ms_per_query:5.3f} ms CPU/query"
            + (f"  ({self.errors} domains with DNS errors)" if self.errors else "")
        )


Plans = Callable[[str], ScanPlan | None]


def run_dmarcwatch(
    port: int,
    rtt_ms: int,
    names: list[str],
    at_once: int,
    mode: str,
    plans: Plans,
    per_resolver: int | None = None,
) -> tuple[Figures, dict[str, ScanResult]]:
    """Scan `names`, `at_once` at a time, each with `plans(name)` (None: the full scan that asks
    everything). `per_resolver` None: one resolver (socket and answer cache) for the run; n: a fresh
    resolver for each n names, closed once their scans are done (n = the scanner's batch: as its Lambda
    invocations do; 1: every scan cold), `at_once // n` such batches at a time."""
    settings = Settings(dns_nameservers=["127.0.0.1"], dns_port=port, dns_timeout=TIMEOUT)
    detector = default_detector().retargeted("test")

    async def main() -> tuple[Figures, dict[str, ScanResult]]:
        results: dict[str, ScanResult] = {}

        async def scan(name: str, resolver: StubResolver) -> None:
            session = scan_session(name, FULL, resolver)
            results[name] = await scan_domain(name, session=session, detector=detector, plan=plans(name))

        async def shared(resolver: StubResolver) -> None:
            gate = asyncio.Semaphore(at_once)

            async def one(name: str) -> None:
                async with gate:
                    await scan(name, resolver)

            await asyncio.gather(*(one(name) for name in names))
            resolver.close()

        async def batches(size: int) -> None:
            queue = iter([names[i : i + size] for i in range(0, len(names), size)])

            async def invocations() -> None:
                for batch in queue:
                    resolver = build_resolver(settings)
                    await asyncio.gather(*(scan(name, resolver) for name in batch))
                    resolver.close()

            await asyncio.gather(*(invocations() for _ in range(max(1, at_once // size))))

        Counter.queries = 0
        cpu, started = time.process_time(), time.perf_counter()
        await (shared(build_resolver(settings)) if per_resolver is None else batches(per_resolver))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        sharing = {None: "one resolver", 1: "a resolver per scan"}.get(
            per_resolver, f"a resolver per {per_resolver}"
        )
        mode_text = f"{mode}, " + (f"{at_once} at once" if at_once > 1 else "one at a time") + f", {sharing}"
        figures = Figures(
            "dmarcwatch",
            rtt_ms,
            mode_text,
            len(names),
            seconds,
            Counter.queries,
            cpu,
            [result.duration_ms for result in results.values()],
            sum(bool(result.errors) for result in results.values()),
        )
        return figures, results

    return asyncio.run(main())


def first_scans(_name: str) -> ScanPlan:
    return plan_scan(None, now=utcnow())


def rescans_of(first: dict[str, ScanResult]) -> Plans:
    """Scheduled rescans a day after `first` (no reports in this bench: the selectors found are known)."""
    return lambda name: plan_scan(first[name], now=first[name].scanned_at + timedelta(days=1))


def _checkdmarc() -> Callable[[str, int], None] | None:
    try:
        import checkdmarc  # type: ignore[import-untyped]
        import requests
        from expiringdict import ExpiringDict  # type: ignore[import-untyped]
    except ImportError:
        return None
    logging.getLogger("checkdmarc").setLevel(logging.CRITICAL)

    def no_network(*_args: Any, **_kwargs: Any) -> Any:
        raise requests.ConnectionError("bench: HTTPS fetches are disabled")

    requests.Session.request = no_network  # type: ignore[method-assign]
    caches = [
        value
        for module in list(sys.modules.values())
        if module is not None and getattr(module, "__name__", "").startswith("checkdmarc")
        for value in vars(module).values()
        if isinstance(value, ExpiringDict)
    ]

    def check(domain: str, port: int) -> None:
        for cache in caches:
            cache.clear()
        # A Nameserver object carries the port: both checkdmarc's resolver path and its DNSSEC path use it.
        checkdmarc.check_domains(
            [domain], nameservers=[dns.nameserver.Do53Nameserver("127.0.0.1", port)], timeout=TIMEOUT
        )

    return check


def run_checkdmarc(check: Callable[[str, int], None], port: int, rtt_ms: int, names: list[str]) -> Figures:
    durations = []
    Counter.queries = 0
    cpu, started = time.process_time(), time.perf_counter()
    for name in names:
        began = time.perf_counter()
        check(name, port)
        durations.append((time.perf_counter() - began) * 1000)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Figures(
        "checkdmarc", rtt_ms, "scan, one at a time", len(names), seconds, Counter.queries, cpu, durations
    )


# --- findings and targets --------------------------------------------------------------------------------

# What two scans of an unchanged zone may differ in, whatever they asked.
_VOLATILE = {"scanned_at", "duration_ms", "queries_sent", "dkim_common_probed_at"}


def alike(one: dict[str, ScanResult], other: dict[str, ScanResult]) -> int:
    """Domains of `one` whose scan in `other` found the same."""
    return sum(
        one[name].model_dump(exclude=_VOLATILE) == other[name].model_dump(exclude=_VOLATILE) for name in one
    )


def same_findings(
    full: dict[str, ScanResult], first: dict[str, ScanResult], again: dict[str, ScanResult]
) -> tuple[int, int]:
    """(domains whose planned first scan found what the full scan found, domains whose rescan found no
    change and the same keys)."""
    unchanged = sum(
        not diff_results(first[name], again[name])
        and first[name].dkim_selectors_found == again[name].dkim_selectors_found
        for name in again
    )
    return alike(full, first), unchanged


@dataclass
class Target:
    what: str
    value: str
    held: bool

    def line(self) -> str:
        return f"  {self.what:<52} {self.value:>9}  {'held' if self.held else 'NOT held'}"


def targets(runs: dict[tuple[int, str], Figures], reference: dict[int, Figures]) -> list[Target]:
    """Issue 13 §1's targets, from this run's figures (`runs` by (rtt, "first"/"rescan"), and at 0 ms
    "first in batches" and "first cold")."""

    def ratio(rtt: int, kind: str) -> float:
        return runs[rtt, kind].rate / reference[rtt].rate if rtt in reference else float("nan")

    rescan_q = max(runs[rtt, "rescan"].per_domain for rtt in (0, 20))
    first_q = max(runs[rtt, "first"].per_domain for rtt in (0, 20))
    cpu = max(figures.cpu_ms_per_query for (_, kind), figures in runs.items() if kind in ("first", "rescan"))
    found = [
        Target("rescans <= 35 queries/domain", f"{rescan_q:.1f}", rescan_q <= 35),
        Target("first scans <= 60 queries/domain (one resolver)", f"{first_q:.1f}", first_q <= 60),
        *(
            Target(f"first scans <= 60 queries/domain ({label})", f"{value:.1f}", value <= 60)
            for label, value in (
                (f"resolver per {SCANNER_BATCH}", runs[0, "first in batches"].per_domain),
                ("cold", runs[0, "first cold"].per_domain),
            )
        ),
        Target("<= 0.3 ms CPU/query (worst dmarcwatch run)", f"{cpu:.3f} ms", cpu <= 0.3),
    ]
    kinds = {"first": "first scans", "rescan": "rescans"}
    for kind, label in kinds.items():
        rate = runs[20, kind].rate
        found.append(Target(f">= 40 domains/s, 10 in flight, 20 ms ({label})", f"{rate:.1f}", rate >= 40))
    for rtt, factor in ((20, 25), (0, 2)):
        for kind, label in kinds.items():
            times = ratio(rtt, kind)
            found.append(
                Target(f">= {factor}x checkdmarc at {rtt} ms ({label})", f"{times:.1f}x", times >= factor)
            )
    return found


def main() -> None:
    hold_to_loopback_and_count()
    check = _checkdmarc()
    rng = random.Random(7)  # reproducible zones
    workdir = Path(tempfile.mkdtemp(prefix="dmarcwatch-bench-scan-"))
    runs: dict[tuple[int, str], Figures] = {}
    reference: dict[int, Figures] = {}
    try:
        zones_dir = workdir / "zones"
        zones_dir.mkdir()
        zones, names = tenant_zones(DOMAINS, rng)
        zones.update(provider_zones())
        for zone, text in zones.items():
            (zones_dir / f"{zone}.zone").write_text(text, encoding="utf-8")
        started = time.perf_counter()
        knot = KnotServer(workdir / "knot", zones_dir)
        knot.start(timeout=20)
        print(
            f"knotd: {len(zones)} zones ({DOMAINS} tenants) loaded in {time.perf_counter() - started:.1f} s"
        )
        print(
            "queries/domain = queries sent / domains scanned. 'one resolver': the scans of the run share one "
            "resolver (socket and answer cache), as the scans of a batch do in the scanner Lambda, whose "
            f"batch is {SCANNER_BATCH} messages; 'a resolver per {SCANNER_BATCH}': a fresh one per "
            f"batch of {SCANNER_BATCH}; 'a resolver per scan': cold scans, nothing shared",
            flush=True,
        )
        # First use of the geo database, PSL and tables (a second or two) is not part of any figure.
        run_dmarcwatch(knot.port, 0, names[:2], 1, "warm-up", first_scans)
        try:
            for rtt in (0, 20):
                with ExitStack() as stack:
                    port = stack.enter_context(delay_proxy(knot.port, rtt)) if rtt else knot.port
                    runs[rtt, "first"], first = run_dmarcwatch(
                        port, rtt, names, SCANS_AT_ONCE, "first scans", first_scans
                    )
                    print(runs[rtt, "first"].line(), flush=True)
                    runs[rtt, "rescan"], again = run_dmarcwatch(
                        port, rtt, names, SCANS_AT_ONCE, "rescans", rescans_of(first)
                    )
                    print(runs[rtt, "rescan"].line(), flush=True)
                    sequential, _ = run_dmarcwatch(
                        port, rtt, names[:SEQUENTIAL], 1, "first scans (cold)", first_scans, per_resolver=1
                    )
                    print(sequential.line(), flush=True)
                    if rtt == 0:
                        for kind, size in (("first in batches", SCANNER_BATCH), ("first cold", 1)):
                            runs[rtt, kind], separate = run_dmarcwatch(
                                port, rtt, names, SCANS_AT_ONCE, "first scans", first_scans, per_resolver=size
                            )
                            print(runs[rtt, kind].line(), flush=True)
                        full_run, full = run_dmarcwatch(
                            port, rtt, names, SCANS_AT_ONCE, "full scans (reference)", lambda _: None
                        )
                        print(full_run.line(), flush=True)
                        planned, unchanged = same_findings(full, first, again)
                        print(
                            f"findings: planned first scans = full scans on {planned}/{len(full)} domains; "
                            f"first scans on one resolver = cold first scans on {alike(separate, first)}"
                            f"/{len(separate)}; rescans report no change and the same keys on "
                            f"{unchanged}/{len(again)}",
                            flush=True,
                        )
                    sample = CHECKDMARC_20MS if rtt else CHECKDMARC_0MS
                    if check is None:
                        print("checkdmarc not installed (pip install checkdmarc): skipped")
                    elif sample:
                        reference[rtt] = run_checkdmarc(check, port, rtt, names[:sample])
                        print(reference[rtt].line(), flush=True)
        finally:
            knot.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("targets (issue 13, scan engine):")
    for target in targets(runs, reference):
        print(target.line())


if __name__ == "__main__":
    main()
