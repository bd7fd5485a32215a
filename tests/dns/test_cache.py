"""The stub resolver's answer cache (dns/cache.py) against knotd, queries counted at the relay: the scans of
a batch share provider answers and find what they find alone; answers live for their TTL, negative ones for
the SOA's negative TTL; failures are never kept; identical questions in flight are sent once; a scan's
budget counts only the queries it sent."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from dmarcwatch.dns.cache import AnswerCache, Tally, negative_ttl
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome, build_resolver
from dmarcwatch.dns.result import ScanResult
from dmarcwatch.dns.scan import scan_domain
from dmarcwatch.dns.stub import StubResolver
from tests.dns.conftest import run
from tests.dns.knot import KnotServer
from tests.dns.relay import Action, Relay, always_forward, answer_with, drop_first

pytestmark = pytest.mark.usefixtures("dns_server")
VOLATILE = {"scanned_at", "duration_ms", "queries_sent"}
TXT = dns.rdatatype.TXT


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cached_resolver(port: int, clock: Callable[[], float] | None = None, **options: Any) -> StubResolver:
    cache = AnswerCache(clock=clock) if clock is not None else AnswerCache()
    return StubResolver(["127.0.0.1"], port, cache=cache, **options)


def questions(relay: Relay) -> list[tuple[str, str]]:
    return [
        (
            received.query.question[0].name.to_text().lower(),
            dns.rdatatype.to_text(received.query.question[0].rdtype),
        )
        for received in relay.received
    ]


def test_build_resolver_caches() -> None:
    assert build_resolver().cache is not None


def test_two_scans_of_a_batch_share_provider_answers_and_find_the_same(dns_server: KnotServer) -> None:
    names = ("acme.test", "corp-a.test")

    async def scans(together: bool) -> tuple[list[ScanResult], Relay, list[DnsSession]]:
        async with Relay(dns_server.port) as relay:
            shared = cached_resolver(relay.port)
            resolvers = [shared, shared] if together else [cached_resolver(relay.port) for _ in names]
            sessions = [DnsSession(resolver, max_queries=400, max_concurrency=64) for resolver in resolvers]
            results = await asyncio.gather(
                *(scan_domain(name, session=session) for name, session in zip(names, sessions, strict=True))
            )
            for resolver in resolvers:
                resolver.close()
            return list(results), relay, sessions

    alone, alone_relay, _ = run(scans(together=False))
    together, relay, sessions = run(scans(together=True))
    # Both zones include _spf.google.test (and its three netblock records): asked once for the two scans.
    assert questions(alone_relay).count(("_spf.google.test.", "TXT")) == 2
    assert questions(relay).count(("_spf.google.test.", "TXT")) == 1
    assert len(set(questions(relay))) == len(relay.received) < len(alone_relay.received)
    # Each scan's queries_sent counts what it sent; the answers it shared are counted apart.
    assert sum(session.queries_sent for session in sessions) == len(relay.received)
    assert sum(result.queries_sent for result in together) == len(relay.received)
    assert sum(session.answers_shared for session in sessions) == len(alone_relay.received) - len(
        relay.received
    )
    for first, second in zip(alone, together, strict=True):
        assert first.model_dump(exclude=VOLATILE) == second.model_dump(exclude=VOLATILE)


def asked_at(server: KnotServer, asks: list[tuple[float, str, int]]) -> tuple[list[Outcome], Relay]:
    """Ask each (time, name, type) in turn through a relay, with the cache's clock at that time."""
    clock = Clock()

    async def go() -> tuple[list[Outcome], Relay]:
        async with Relay(server.port) as relay:
            resolver = cached_resolver(relay.port, clock)
            outcomes = []
            for at, name, rdtype in asks:
                clock.now = at
                outcomes.append((await resolver.resolve(name, dns.rdatatype.RdataType.make(rdtype))).outcome)
            resolver.close()
            return outcomes, relay

    return run(go())


def test_answers_live_for_their_ttl_capped(dns_server: KnotServer) -> None:
    outcomes, relay = asked_at(
        dns_server,
        [
            (1000.0, "short.ttl.test.", TXT),  # TTL 5: sent
            (1004.0, "short.ttl.test.", TXT),  # kept
            (1005.5, "short.ttl.test.", TXT),  # expired: sent again
            (1000.0, "long.ttl.test.", TXT),  # TTL 86400, kept for 300 s at most: sent
            (1299.0, "long.ttl.test.", TXT),  # kept
            (1301.0, "long.ttl.test.", TXT),  # past the cap: sent again
            (1000.0, "zero.ttl.test.", TXT),  # TTL 0: never kept
            (1000.0, "zero.ttl.test.", TXT),
        ],
    )
    assert set(outcomes) == {Outcome.ANSWER}
    assert [name for name, _ in questions(relay)] == [
        "short.ttl.test.",
        "short.ttl.test.",
        "long.ttl.test.",
        "long.ttl.test.",
        "zero.ttl.test.",
        "zero.ttl.test.",
    ]


def test_negative_answers_live_for_the_soa_negative_ttl(dns_server: KnotServer) -> None:
    outcomes, relay = asked_at(
        dns_server,
        [
            (1000.0, "nothere.ttl.test.", TXT),  # NXDOMAIN, SOA min(300, MINIMUM 7): sent
            (1006.0, "nothere.ttl.test.", TXT),  # kept
            (1007.5, "nothere.ttl.test.", TXT),  # expired: sent
            (1000.0, "short.ttl.test.", dns.rdatatype.A),  # NODATA: sent
            (1006.0, "short.ttl.test.", dns.rdatatype.A),  # kept
            (1008.0, "short.ttl.test.", dns.rdatatype.A),  # expired: sent
        ],
    )
    assert outcomes == [Outcome.NXDOMAIN] * 3 + [Outcome.NODATA] * 3
    assert len(relay.received) == 4


def test_a_negative_answer_without_an_soa_is_not_kept(dns_server: KnotServer) -> None:
    async def go() -> tuple[list[DnsResult], Relay]:
        async with Relay(dns_server.port, answer_with(dns.rcode.NXDOMAIN)) as relay:
            resolver = cached_resolver(relay.port)
            results = [await resolver.resolve("corp-a.test.", TXT) for _ in range(2)]
            resolver.close()
            return results, relay

    results, relay = run(go())
    assert [result.outcome for result in results] == [Outcome.NXDOMAIN] * 2
    assert len(relay.received) == 2


@pytest.mark.parametrize(
    ("decide", "name", "outcome"),
    [
        (always_forward, "servfail.test.", Outcome.SERVFAIL),  # a zone knotd failed to load
        (answer_with(dns.rcode.REFUSED), "corp-a.test.", Outcome.ERROR),
        (drop_first(99), "corp-a.test.", Outcome.TIMEOUT),
    ],
)
def test_failures_are_never_kept(
    dns_server: KnotServer, decide: Callable[[dns.message.Message, int], Action], name: str, outcome: Outcome
) -> None:
    async def go() -> tuple[list[DnsResult], Relay, StubResolver]:
        async with Relay(dns_server.port, decide) as relay:
            resolver = cached_resolver(relay.port, timeout=0.1, lifetime=0.15)
            results = [await resolver.resolve(name, TXT) for _ in range(2)]
            resolver.close()
            return results, relay, resolver

    results, relay, resolver = run(go())
    assert [result.outcome for result in results] == [outcome] * 2
    assert resolver.cache is not None
    assert len(resolver.cache) == 0
    # Asked again the second time (a timeout is asked once per attempt, so at least twice in all).
    assert len({received.query.id for received in relay.received}) == 2


def test_identical_questions_in_flight_are_sent_once(dns_server: KnotServer) -> None:
    async def go() -> tuple[list[DnsResult], Relay, Tally, StubResolver]:
        async with Relay(dns_server.port, hold=0.05) as relay:
            resolver = cached_resolver(relay.port)
            tally = Tally()
            results = await asyncio.gather(
                *(resolver.resolve("corp-a.test.", TXT, tally=tally) for _ in range(5)),
                resolver.resolve("corp-a.test.", dns.rdatatype.MX, tally=tally),
            )
            resolver.close()
            return list(results), relay, tally, resolver

    results, relay, tally, resolver = run(go())
    assert {result.outcome for result in results} == {Outcome.ANSWER}
    assert len({tuple(result.txt()) for result in results[:5]}) == 1
    assert questions(relay) == [("corp-a.test.", "TXT"), ("corp-a.test.", "MX")]
    assert (tally.joined, tally.cached, resolver.queries_joined) == (4, 0, 4)


def test_a_cancelled_asker_does_not_cancel_the_query_the_others_wait_for(dns_server: KnotServer) -> None:
    async def go() -> tuple[DnsResult, Relay]:
        async with Relay(dns_server.port, hold=0.05) as relay:
            resolver = cached_resolver(relay.port)
            first = asyncio.create_task(resolver.resolve("corp-a.test.", TXT))
            await asyncio.sleep(0.01)
            second = asyncio.create_task(resolver.resolve("corp-a.test.", TXT))
            await asyncio.sleep(0)
            first.cancel()
            result = await second
            resolver.close()
            return result, relay

    result, relay = run(go())
    assert result.outcome is Outcome.ANSWER
    assert len(relay.received) == 1


def test_the_budget_counts_only_queries_sent(dns_server: KnotServer) -> None:
    async def go() -> tuple[list[DnsResult], DnsSession, Relay]:
        async with Relay(dns_server.port) as relay:
            resolver = cached_resolver(relay.port)
            await DnsSession(resolver).query("corp-a.test", "TXT")  # another scan of the batch
            session = DnsSession(resolver, max_queries=1, max_lookups=3)
            results = [
                await session.query(name, "TXT")
                for name in ("corp-a.test", "corp-b.test", "split.test", "corp-a.test")
            ]
            resolver.close()
            return results, session, relay

    results, session, relay = run(go())
    # The shared answer costs nothing against max_queries; the third distinct question is over it.
    assert [result.outcome for result in results] == [
        Outcome.ANSWER,
        Outcome.ANSWER,
        Outcome.BUDGET_EXHAUSTED,
        Outcome.ANSWER,
    ]
    assert "limit of 1 queries per scan" in results[2].detail
    assert (session.queries_sent, session.answers_shared, session.cache_hits) == (1, 1, 1)
    assert len(relay.received) == 2


def test_shared_answers_count_against_the_lookup_limit(dns_server: KnotServer) -> None:
    names = ("corp-a.test", "corp-b.test", "split.test")

    async def go() -> list[DnsResult]:
        resolver = cached_resolver(dns_server.port)
        warm = DnsSession(resolver)
        for name in names:
            await warm.query(name, "TXT")
        session = DnsSession(resolver, max_queries=5, max_lookups=2)
        results = [await session.query(name, "TXT") for name in names]
        resolver.close()
        return results

    results = run(go())
    assert [result.outcome for result in results] == [
        Outcome.ANSWER,
        Outcome.ANSWER,
        Outcome.BUDGET_EXHAUSTED,
    ]
    assert "limit of 2 lookups per scan" in results[2].detail


def test_the_cache_is_bounded_and_emptied_with_its_resolver(dns_server: KnotServer) -> None:
    async def go() -> tuple[StubResolver, int]:
        resolver = StubResolver(["127.0.0.1"], dns_server.port, cache=AnswerCache(max_entries=2))
        for name in ("corp-a.test.", "corp-b.test.", "split.test."):
            await resolver.resolve(name, TXT)
        assert resolver.cache is not None
        kept = len(resolver.cache)
        # The oldest made room: corp-a is asked again, split.test is not.
        await resolver.resolve("split.test.", TXT)
        await resolver.resolve("corp-a.test.", TXT)
        resolver.close()
        return resolver, kept

    resolver, kept = run(go())
    assert kept == 2
    assert resolver.datagrams_sent == 4
    assert resolver.cache is not None
    assert len(resolver.cache) == 0


def test_negative_ttl_of_a_message_cut_short_is_none() -> None:
    response = dns.message.make_response(dns.message.make_query("nothere.ttl.test", "TXT"))
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.authority.append(
        dns.rrset.from_text("ttl.test.", 300, "IN", "SOA", "ns1.ttl.test. h.ttl.test. 1 3600 600 86400 7")
    )
    wire = response.to_wire()
    start = 12 + len(dns.name.from_text("nothere.ttl.test.").to_wire() or b"") + 4
    assert negative_ttl(wire, start, 0, 1) == 7
    assert negative_ttl(wire[:-3], start, 0, 1) is None
    assert negative_ttl(wire, start, 0, 0) is None
