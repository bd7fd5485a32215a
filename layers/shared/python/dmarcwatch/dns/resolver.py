"""One scan's DNS: bounded, budgeted, memoised, and honest about failure.

Every lookup returns a `DnsResult` (`dns.answers`) whose `outcome` tells an answer, NXDOMAIN and NODATA
apart from SERVFAIL, timeouts, a spent budget and other errors, so a failure never reads as "absent".
The questions go to a `StubResolver` (`dns.stub`, dnspython's message layer over one UDP socket), which
the scans of a batch share, with an answer cache (`dns.cache`) so that the provider infrastructure many of
them point at (MX hosts, SPF includes, public-suffix names) is asked once per batch.

One `DnsSession` is one scan. It

- never asks the same (name, type) twice: concurrent askers share one in-flight query (an SPF tree often
  reaches the same include from several branches, and SPF and DMARC checks overlap);
- caps the queries it sends (`max_queries`), so a hostile or broken SPF tree cannot make a scan flood the
  resolver or run for minutes. An answer another scan of the batch already had (the resolver's cache, or
  its query in flight) costs no round trip and no server work, so it is not counted there; it counts
  against `max_lookups` (twice `max_queries` by default), which bounds the scan's work in all. A scan
  therefore never gets less far with answers shared than it would alone, and its findings do not depend
  on what else is in its batch (the `admit` policy and the CPU limit apply to shared answers too);
- bounds the queries in flight (`max_concurrency`), so running everything concurrently, which is what makes
  a scan fast against a resolver tens of milliseconds away, stays polite;
- optionally caps the CPU time of the scan (`max_cpu_seconds`, the thread time of the event loop's thread
  since the session began, where the answers are parsed; scans running together in one loop count each
  other's time too): once spent, no further query is sent, so a zone whose answers are costly to analyse
  ends the scan instead of holding the worker;
- optionally asks an `admit` policy before sending a new question, which can refuse it (the scan of an
  unverified domain limits the names it asks outside that domain).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype

from dmarcwatch.config import Settings, get_settings
from dmarcwatch.dns.answers import DnsResult as DnsResult
from dmarcwatch.dns.answers import Outcome as Outcome
from dmarcwatch.dns.cache import AnswerCache, Tally
from dmarcwatch.dns.stub import StubResolver, question_key

# An SPF tree within the RFC limits needs well under 100 queries (10 lookup terms, each MX with up to 10
# hosts asked for A and AAAA); DMARC adds a handful. 150 leaves room to describe an over-limit tree.
DEFAULT_MAX_QUERIES = 150
DEFAULT_MAX_CONCURRENCY = 16
RESOLV_CONF = Path("/etc/resolv.conf")


@cache
def system_nameservers(path: Path = RESOLV_CONF) -> tuple[str, ...]:
    """The `nameserver` lines of resolv.conf (read once per process)."""
    servers = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            servers.append(words[1])
    if not servers:
        raise ValueError(f"no nameserver in {path}: set DMARCWATCH_DNS_NAMESERVERS")
    return tuple(servers)


def build_resolver(settings: Settings | None = None) -> StubResolver:
    """A stub resolver from settings: the system's resolvers unless `dns_nameservers` is set.

    An answer cache (`dns.cache`) that lives as long as the resolver: one batch of scans, seconds (a
    rescan, hours later, asks again and sees changes); EDNS with a 1232-octet buffer, so large TXT answers
    fit in UDP instead of costing a TCP round trip; AD set in every query, so a validating resolver reports
    whether it validated the answer (RFC 6840 §5.7) at no extra query; half the lifetime per attempt, so
    one retry of a lost datagram fits within the query's lifetime.
    """
    settings = settings or get_settings()
    servers = settings.dns_nameservers or system_nameservers()
    return StubResolver(
        servers,
        settings.dns_port,
        timeout=settings.dns_timeout / 2,
        lifetime=settings.dns_timeout,
        cache=AnswerCache(),
    )


_RDTYPES: dict[str, tuple[dns.rdatatype.RdataType, str]] = {}


def _rdtype(text: str) -> tuple[dns.rdatatype.RdataType, str]:
    """(value, mnemonic) of a type given as text in any case, remembered."""
    found = _RDTYPES.get(text)
    if found is None:
        value = dns.rdatatype.from_text(text)
        found = _RDTYPES[text] = (value, dns.rdatatype.to_text(value))
    return found


class DnsSession:
    """The DNS of one scan. Create it inside the event loop that runs the scan; do not share it between
    scans (its memo would hide changes and its budget would be shared). Scans may share a resolver."""

    def __init__(
        self,
        resolver: StubResolver | None = None,
        *,
        timeout: float | None = None,
        max_queries: int = DEFAULT_MAX_QUERIES,
        max_lookups: int | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_cpu_seconds: float | None = None,
        admit: Callable[[str], str | None] | None = None,
    ) -> None:
        """`resolver` defaults to `build_resolver()` from settings (closed by `close()`); `timeout` (the
        lifetime of one query, retries included) defaults to the resolver's lifetime. `max_queries`: the
        questions sent; `max_lookups` (default twice that): the questions asked in all, sent or answered
        with another scan's answer. `max_cpu_seconds` counts from now, in the calling thread.
        `admit(name)` returns why a new question for `name` (lower case, no final dot) must not be asked,
        or None to ask it; a refusal is a BUDGET_EXHAUSTED result with that reason."""
        self._owns_resolver = resolver is None
        self._resolver = resolver if resolver is not None else build_resolver()
        self._timeout = timeout if timeout is not None else self._resolver.lifetime
        self._max_queries = max_queries
        self._max_lookups = 2 * max_queries if max_lookups is None else max_lookups
        self._cpu_deadline = None if max_cpu_seconds is None else time.thread_time() + max_cpu_seconds
        self._max_cpu_seconds = max_cpu_seconds
        self._admit = admit
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._memo: dict[tuple[str, dns.rdatatype.RdataType], asyncio.Future[DnsResult]] = {}
        # Questions handed to the resolver, and what it answered without sending them.
        self._asked = 0
        self._tally = Tally()
        self.memo_hits = 0
        # Questions answered from the resolver's cache before being handed to it.
        self.cache_hits = 0
        self.budget_refusals = 0

    @property
    def max_queries(self) -> int:
        return self._max_queries

    @property
    def queries_sent(self) -> int:
        """Questions this session sent (exact once its queries are done; until then a question handed to
        the resolver counts as sent)."""
        return self._asked - self._tally.shared

    @property
    def answers_shared(self) -> int:
        """Questions answered with another scan's answer: from the resolver's cache or its query in flight."""
        return self.cache_hits + self._tally.shared

    def close(self) -> None:
        """Release the resolver's sockets if this session built the resolver."""
        if self._owns_resolver:
            self._resolver.close()

    async def query(self, name: str, rdtype: str) -> DnsResult:
        """Ask once per scan; later and concurrent askers of the same question share the first answer."""
        rdtype_value, rdtype_text = _rdtype(rdtype)
        text = name.lower()
        text = text[:-1] if text.endswith(".") else text
        key = (text, rdtype_value)
        task = self._memo.get(key)
        if task is not None:
            self.memo_hits += 1
            # Shielded: one asker being cancelled must not cancel the query the others wait for.
            return task.result() if task.done() else await asyncio.shield(task)
        qname = text + "."
        try:
            wire_key = question_key(qname, rdtype_value)
        except dns.exception.DNSException as error:
            # A malformed name (e.g. an over-long label from an SPF macro) is never sent.
            return DnsResult(text, rdtype_text, Outcome.ERROR, detail=f"invalid name: {error}")
        cached = self._resolver.cached(wire_key)
        refusal = self._refusal(text, cached is None)
        if refusal is not None:
            self.budget_refusals += 1
            return DnsResult(text, rdtype_text, Outcome.BUDGET_EXHAUSTED, detail=refusal)
        if cached is not None:
            self.cache_hits += 1
            answered: asyncio.Future[DnsResult] = asyncio.get_running_loop().create_future()
            answered.set_result(cached)
            self._memo[key] = answered
            return cached
        self._asked += 1
        task = asyncio.create_task(self._resolve(qname, rdtype_value, text, rdtype_text))
        self._memo[key] = task
        return await asyncio.shield(task)

    def _refusal(self, name: str, to_send: bool) -> str | None:
        """Why a new question must not be asked (`to_send`: it is not in the resolver's cache), or None."""
        if to_send and self.queries_sent >= self._max_queries:
            return f"limit of {self._max_queries} queries per scan"
        if self._asked + self.cache_hits >= self._max_lookups:
            return f"limit of {self._max_lookups} lookups per scan"
        if self._cpu_deadline is not None and time.thread_time() > self._cpu_deadline:
            return f"limit of {self._max_cpu_seconds:g} s of CPU time per scan"
        return self._admit(name) if self._admit is not None else None

    async def _resolve(
        self, qname: str, rdtype: dns.rdatatype.RdataType, name: str, rdtype_text: str
    ) -> DnsResult:
        async with self._semaphore:
            try:
                # The stub resolver keeps to the lifetime (every wait is bounded by what is left of it).
                return await self._resolver.resolve(qname, rdtype, lifetime=self._timeout, tally=self._tally)
            except (dns.exception.DNSException, OSError) as error:
                return DnsResult(name, rdtype_text, Outcome.ERROR, detail=f"{type(error).__name__}: {error}")
