"""One scan's DNS: bounded, budgeted, memoised, and honest about failure.

A scan asks many small questions (TXT, MX, A) and concludes things like "this domain has no SPF record"
from the answers. A resolver failure must never look like an absent record, so every lookup returns a
`DnsResult` whose `outcome` says exactly what happened: an answer, NXDOMAIN, NODATA (the name exists, the
type does not), SERVFAIL, a timeout, the scan's query budget being spent, or another error.

One `DnsSession` is one scan. It

- never asks the same (name, type) twice: concurrent askers share one in-flight query (an SPF tree often
  reaches the same include from several branches, and SPF and DMARC checks overlap);
- caps the queries it sends (`max_queries`), so a hostile or broken SPF tree cannot make a scan flood the
  resolver or run for minutes;
- bounds the queries in flight (`max_concurrency`), so running everything concurrently, which is what makes
  a scan fast against a resolver tens of milliseconds away, stays polite;
- optionally caps the CPU time of the scan (`max_cpu_seconds`, the thread time of the event loop's thread,
  where the answers are parsed): once spent, no further query is sent, so a zone whose answers are costly
  to analyse ends the scan instead of holding the worker;
- optionally asks an `admit` policy before sending a new question, which can refuse it (the scan of an
  unverified domain limits the names it asks outside that domain).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA

from dmarcwatch.config import Settings, get_settings
from dmarcwatch.dns.txt import join_txt

# An SPF tree within the RFC limits needs well under 100 queries (10 lookup terms, each MX with up to 10
# hosts asked for A and AAAA); DMARC adds a handful. 150 leaves room to describe an over-limit tree.
DEFAULT_MAX_QUERIES = 150
DEFAULT_MAX_CONCURRENCY = 16


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    SERVFAIL = "servfail"
    TIMEOUT = "timeout"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ERROR = "error"


_VOID = frozenset({Outcome.NXDOMAIN, Outcome.NODATA})


@dataclass(frozen=True, slots=True)
class DnsResult:
    """What one question got. `name` is lower-case without the final dot; `rdtype` is the type mnemonic."""

    name: str
    rdtype: str
    outcome: Outcome
    rdata: tuple[dns.rdata.Rdata, ...] = ()
    detail: str = ""
    # The response's AD flag: the (validating) resolver vouches for the answer with DNSSEC.
    authenticated: bool = False

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def void(self) -> bool:
        """The DNS said authoritatively that there is nothing (RFC 7208 §4.6.4 "void lookup")."""
        return self.outcome in _VOID

    @property
    def failed(self) -> bool:
        """We do not know what is there: SERVFAIL, timeout, budget spent or another error."""
        return not self.answered and not self.void

    def txt(self) -> list[str]:
        """Each TXT record's strings joined without separators (RFC 7208 §3.3)."""
        return [join_txt(r.strings) for r in self.rdata if isinstance(r, TXT)]

    def mx(self) -> list[tuple[int, str]]:
        """(preference, exchange) pairs sorted by preference; a null MX's exchange (the root) is "."."""
        pairs = [
            (r.preference, r.exchange.to_text(omit_final_dot=True).lower())
            for r in self.rdata
            if isinstance(r, MX)
        ]
        return sorted(pairs)

    def addresses(self) -> list[str]:
        return [r.address for r in self.rdata if isinstance(r, A | AAAA)]

    def describe(self) -> str:
        """A sentence for reports: what was asked and what went wrong (or right)."""
        what = {
            Outcome.ANSWER: "answered",
            Outcome.NXDOMAIN: "does not exist (NXDOMAIN)",
            Outcome.NODATA: "has no records of this type (NODATA)",
            Outcome.SERVFAIL: "failed: the server answered SERVFAIL",
            Outcome.TIMEOUT: "failed: no answer before the timeout",
            Outcome.BUDGET_EXHAUSTED: "was not asked: the scan's DNS query budget is spent",
            Outcome.ERROR: "failed",
        }[self.outcome]
        suffix = f" ({self.detail})" if self.detail and self.outcome is not Outcome.SERVFAIL else ""
        return f"{self.rdtype} lookup for {self.name} {what}{suffix}"


def build_resolver(settings: Settings | None = None) -> dns.asyncresolver.Resolver:
    """An async stub resolver from settings: the system's resolvers unless `dns_nameservers` is set.

    No search list (every name we ask is absolute), no cache (the session memo is per scan on purpose, so
    a rescan sees changes), and an EDNS buffer of 1232 octets so large TXT answers fit in UDP instead of
    costing a TCP round trip.
    """
    settings = settings or get_settings()
    if settings.dns_nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.port = settings.dns_port
        resolver.nameservers = list(settings.dns_nameservers)
    else:
        resolver = dns.asyncresolver.Resolver(configure=True)
        resolver.port = settings.dns_port
    resolver.search = []
    resolver.use_search_by_default = False
    resolver.cache = None
    resolver.retry_servfail = False
    resolver.use_edns(0, 0, 1232)
    # AD in the query asks a validating resolver to report whether it validated the answer (RFC 6840
    # §5.7), so every answer carries the DNSSEC signal at no extra query.
    resolver.flags = dns.flags.RD | dns.flags.AD
    # Half the lifetime per attempt: one retry of a lost UDP datagram fits within the query's lifetime.
    resolver.timeout = settings.dns_timeout / 2
    resolver.lifetime = settings.dns_timeout
    return resolver


def _name_text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _classify_no_nameservers(error: dns.resolver.NoNameservers) -> tuple[Outcome, str]:
    """Every server failed: SERVFAIL if one said so, timeout if all timed out, otherwise an error."""
    errors = error.kwargs.get("errors") or []
    details: list[str] = []
    servfail = False
    timeouts = 0
    for entry in errors:
        problem, response = entry[3], entry[4]
        if response is not None and response.rcode() == dns.rcode.SERVFAIL:
            servfail = True
        if isinstance(problem, dns.exception.Timeout):
            timeouts += 1
        details.append(f"{entry[0]}: {problem}")
    detail = "; ".join(details) or "no nameserver answered"
    if servfail:
        return Outcome.SERVFAIL, detail
    if errors and timeouts == len(errors):
        return Outcome.TIMEOUT, detail
    return Outcome.ERROR, detail


class DnsSession:
    """The DNS of one scan. Create it inside the event loop that runs the scan; do not share it between
    scans (its memo would hide changes and its budget would be shared)."""

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver | None = None,
        *,
        timeout: float | None = None,
        max_queries: int = DEFAULT_MAX_QUERIES,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_cpu_seconds: float | None = None,
        admit: Callable[[str], str | None] | None = None,
    ) -> None:
        """`resolver` defaults to `build_resolver()` from settings; `timeout` (the lifetime of one query,
        retries included) defaults to the resolver's lifetime. `max_cpu_seconds` counts from now, in the
        calling thread. `admit(name)` returns why a new question for `name` (lower case, no final dot)
        must not be sent, or None to send it; a refusal is a BUDGET_EXHAUSTED result with that reason."""
        self._resolver = resolver if resolver is not None else build_resolver()
        self._timeout = timeout if timeout is not None else self._resolver.lifetime
        self._max_queries = max_queries
        self._cpu_deadline = None if max_cpu_seconds is None else time.thread_time() + max_cpu_seconds
        self._max_cpu_seconds = max_cpu_seconds
        self._admit = admit
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._memo: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], asyncio.Task[DnsResult]] = {}
        self.queries_sent = 0
        self.memo_hits = 0
        self.budget_refusals = 0

    @property
    def max_queries(self) -> int:
        return self._max_queries

    async def query(self, name: str, rdtype: str) -> DnsResult:
        """Ask once per scan; later and concurrent askers of the same question share the first answer."""
        rdtype_value = dns.rdatatype.from_text(rdtype)
        rdtype_text = dns.rdatatype.to_text(rdtype_value)
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as error:
            # A malformed name (e.g. an over-long label from an SPF macro) is never sent.
            return DnsResult(
                name.lower().rstrip("."), rdtype_text, Outcome.ERROR, detail=f"invalid name: {error}"
            )
        key = (qname, rdtype_value)
        task = self._memo.get(key)
        if task is None:
            refusal = self._refusal(qname)
            if refusal is not None:
                self.budget_refusals += 1
                return DnsResult(_name_text(qname), rdtype_text, Outcome.BUDGET_EXHAUSTED, detail=refusal)
            self.queries_sent += 1
            task = asyncio.create_task(self._resolve(qname, rdtype_value))
            self._memo[key] = task
        else:
            self.memo_hits += 1
        # Shielded: one asker being cancelled must not cancel the query the others wait for.
        return await asyncio.shield(task)

    def _refusal(self, qname: dns.name.Name) -> str | None:
        """Why a new question must not be sent, or None."""
        if self.queries_sent >= self._max_queries:
            return f"limit of {self._max_queries} queries per scan"
        if self._cpu_deadline is not None and time.thread_time() > self._cpu_deadline:
            return f"limit of {self._max_cpu_seconds:g} s of CPU time per scan"
        return self._admit(_name_text(qname)) if self._admit is not None else None

    async def _resolve(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> DnsResult:
        name, rdtype_text = _name_text(qname), dns.rdatatype.to_text(rdtype)
        async with self._semaphore:
            try:
                # dnspython's lifetime does not cover its back-off sleeps between retries; the outer
                # timeout makes the per-query limit hard.
                async with asyncio.timeout(self._timeout):
                    answer = await self._resolver.resolve(
                        qname, rdtype, lifetime=self._timeout, raise_on_no_answer=False, search=False
                    )
            except TimeoutError:
                return DnsResult(name, rdtype_text, Outcome.TIMEOUT, detail=f"no answer in {self._timeout} s")
            except dns.resolver.NXDOMAIN:
                return DnsResult(name, rdtype_text, Outcome.NXDOMAIN)
            except dns.resolver.NoNameservers as error:
                outcome, detail = _classify_no_nameservers(error)
                return DnsResult(name, rdtype_text, outcome, detail=detail)
            except dns.exception.Timeout as error:
                return DnsResult(name, rdtype_text, Outcome.TIMEOUT, detail=str(error))
            except (dns.exception.DNSException, OSError) as error:
                return DnsResult(name, rdtype_text, Outcome.ERROR, detail=f"{type(error).__name__}: {error}")
        authenticated = bool(answer.response.flags & dns.flags.AD)
        if answer.rrset is None:
            return DnsResult(name, rdtype_text, Outcome.NODATA, authenticated=authenticated)
        return DnsResult(
            name, rdtype_text, Outcome.ANSWER, rdata=tuple(answer.rrset), authenticated=authenticated
        )
