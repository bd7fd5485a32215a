"""The stub resolver's query path against knotd (directly, or through tests/dns/relay.py): retries,
TCP on truncation, error rcodes, answers that must be ignored, and one socket for a batch of scans."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.scan import scan_domain
from dmarcwatch.dns.stub import StubResolver
from tests.dns.conftest import run
from tests.dns.knot import KnotServer
from tests.dns.relay import Action, Relay, answer_with, drop_first

pytestmark = pytest.mark.usefixtures("dns_server")


def ask(resolver: StubResolver, name: str, rdtype: str) -> DnsResult:
    return asyncio.run(_ask(resolver, name, rdtype))


async def _ask(resolver: StubResolver, name: str, rdtype: str) -> DnsResult:
    try:
        return await resolver.resolve(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
    finally:
        resolver.close()


def through_relay(
    server: KnotServer,
    decide: Callable[[dns.message.Message, int], Action],
    name: str,
    rdtype: str,
    **options: float,
) -> tuple[DnsResult, Relay, StubResolver]:
    async def go() -> tuple[DnsResult, Relay, StubResolver]:
        async with Relay(server.port, decide) as relay:
            resolver = StubResolver(["127.0.0.1"], relay.port, **options)
            return await _ask(resolver, name, rdtype), relay, resolver

    return run(go())


def test_a_lost_datagram_is_sent_again_with_the_same_id(dns_server: KnotServer) -> None:
    result, relay, resolver = through_relay(
        dns_server, drop_first(1), "corp-a.test", "MX", timeout=0.2, lifetime=2
    )
    assert result.outcome is Outcome.ANSWER
    assert len(result.mx()) == 5
    assert len(relay.received) == resolver.datagrams_sent == 2
    assert relay.received[0].query.id == relay.received[1].query.id


def test_no_answer_at_all_is_a_timeout_after_the_retries(dns_server: KnotServer) -> None:
    result, relay, resolver = through_relay(
        dns_server, drop_first(99), "corp-a.test", "MX", timeout=0.1, lifetime=0.35
    )
    assert result.outcome is Outcome.TIMEOUT
    assert result.failed
    assert "no answer" in result.detail
    # Sent again after each attempt's timeout (four fit in the lifetime, fewer on a loaded machine).
    assert len(relay.received) == resolver.datagrams_sent >= 2
    assert len({received.query.id for received in relay.received}) == 1


def test_a_truncated_answer_is_read_over_tcp(dns_server: KnotServer) -> None:
    resolver = StubResolver(["127.0.0.1"], dns_server.port)
    result = ask(resolver, "big.stub.test", "TXT")
    assert result.outcome is Outcome.ANSWER
    [record] = result.txt()
    assert record.startswith("v=spf1 ip4:198.51.0.0 ")
    assert record.endswith(" -all")
    assert len(record) > 1232
    assert (resolver.datagrams_sent, resolver.tcp_queries) == (1, 1)


def test_queries_ask_for_edns_ad_and_recursion(dns_server: KnotServer) -> None:
    _, relay, _ = through_relay(dns_server, drop_first(0), "corp-a.test", "TXT")
    [received] = relay.received
    assert received.query.flags & dns.flags.RD
    assert received.query.flags & dns.flags.AD
    assert (received.query.edns, received.query.payload) == (0, 1232)


def test_servfail_from_the_only_server_is_servfail_at_once(dns_server: KnotServer) -> None:
    resolver = StubResolver(["127.0.0.1"], dns_server.port, timeout=0.5, lifetime=5)
    result = ask(resolver, "servfail.test", "TXT")
    assert result.outcome is Outcome.SERVFAIL
    assert resolver.datagrams_sent == 1


def test_servfail_and_refused_move_to_the_next_server(dns_server: KnotServer) -> None:
    async def go(rcode: dns.rcode.Rcode) -> tuple[DnsResult, Relay, Relay]:
        # Two servers on one port: a failing one on 127.0.0.1, a working one on 127.0.0.2.
        async with Relay(dns_server.port, answer_with(rcode)) as failing:  # noqa: SIM117 (port of the first)
            async with Relay(dns_server.port, host="127.0.0.2", port=failing.port) as working:
                resolver = StubResolver(["127.0.0.1", "127.0.0.2"], failing.port, timeout=1, lifetime=5)
                return await _ask(resolver, "corp-a.test", "TXT"), failing, working

    for rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
        result, failing, working = run(go(rcode))
        assert result.outcome is Outcome.ANSWER, rcode
        assert (len(failing.received), len(working.received)) == (1, 1)


def test_when_every_server_fails_the_result_says_how(dns_server: KnotServer) -> None:
    result, relay, _ = through_relay(dns_server, answer_with(dns.rcode.REFUSED), "corp-a.test", "TXT")
    assert result.outcome is Outcome.ERROR
    assert result.detail == "127.0.0.1: REFUSED"
    assert len(relay.received) == 1


def test_nxdomain_nodata_and_aliases(dns_server: KnotServer) -> None:
    resolver = StubResolver(["127.0.0.1"], dns_server.port)

    async def go() -> list[DnsResult]:
        try:
            return [
                await resolver.resolve(dns.name.from_text(name), dns.rdatatype.from_text(rdtype))
                for name, rdtype in (
                    ("nothere.stub.test", "A"),
                    ("_tcp.stub.test", "SRV"),
                    ("alias.stub.test", "A"),
                    ("www.stub.test", "A"),
                    ("www.stub.test", "TXT"),
                )
            ]
        finally:
            resolver.close()

    nothere, empty_non_terminal, alias, chain, chain_nodata = run(go())
    assert (nothere.outcome, nothere.aliased, nothere.nothing_below) == (Outcome.NXDOMAIN, False, True)
    assert (empty_non_terminal.outcome, empty_non_terminal.nothing_below) == (Outcome.NODATA, False)
    # The alias's target does not exist, but a name below the alias does: not "nothing below".
    assert (alias.outcome, alias.aliased, alias.nothing_below) == (Outcome.NXDOMAIN, True, False)
    assert (chain.outcome, chain.aliased, chain.addresses()) == (Outcome.ANSWER, True, ["192.0.2.10"])
    assert (chain_nodata.outcome, chain_nodata.aliased) == (Outcome.NODATA, True)


def test_answers_to_another_question_or_id_are_ignored(dns_server: KnotServer) -> None:
    def decide(query: dns.message.Message, index: int) -> Action:
        if index > 0:
            return "forward"
        # First a forged answer with the right id and another question; then the datagram is "lost",
        # so only the retry's real answer can complete the query.
        forged = dns.message.make_query("corp-b.test", "MX", id=query.id)
        response = dns.message.make_response(forged)
        return response.to_wire()

    result, relay, _ = through_relay(dns_server, decide, "corp-a.test", "MX", timeout=0.2, lifetime=2)
    assert result.outcome is Outcome.ANSWER
    assert result.mx()[0] == (1, "aspmx.l.google.test")
    assert len(relay.received) == 2


def test_a_closed_port_fails_at_once_as_an_error() -> None:
    # Nothing listens on the discard port (tests/conftest.py relies on it too): ICMP port unreachable.
    resolver = StubResolver(["127.0.0.1"], 9, timeout=5, lifetime=10)
    result = ask(resolver, "corp-a.test", "TXT")
    assert result.outcome is Outcome.ERROR
    assert "ConnectionRefused" in result.detail


def test_the_budget_counts_questions_and_retries_are_the_resolvers(dns_server: KnotServer) -> None:
    async def go() -> tuple[list[DnsResult], DnsSession, Relay, StubResolver]:
        async with Relay(dns_server.port, drop_first(1)) as relay:
            resolver = StubResolver(["127.0.0.1"], relay.port, timeout=0.2, lifetime=2)
            session = DnsSession(resolver, max_queries=2)
            results = [
                await session.query(name, "TXT") for name in ("corp-a.test", "corp-b.test", "split.test")
            ]
            resolver.close()
            return results, session, relay, resolver

    results, session, relay, resolver = run(go())
    assert [r.outcome for r in results] == [Outcome.ANSWER, Outcome.ANSWER, Outcome.BUDGET_EXHAUSTED]
    assert session.queries_sent == 2
    # The first question's datagram was lost and sent again: three datagrams for two questions.
    assert resolver.datagrams_sent == len(relay.received) == 3


def test_the_scans_of_a_batch_share_one_socket(dns_server: KnotServer) -> None:
    async def go() -> tuple[Relay, int]:
        async with Relay(dns_server.port) as relay:
            resolver = StubResolver(["127.0.0.1"], relay.port)
            sessions = [DnsSession(resolver, max_queries=400, max_concurrency=64) for _ in range(3)]
            scans = await asyncio.gather(
                *(
                    scan_domain(name, session=session)
                    for name, session in zip(
                        ("acme.test", "corp-a.test", "corp-b.test"), sessions, strict=True
                    )
                )
            )
            resolver.close()
            return relay, sum(scan.queries_sent for scan in scans)

    relay, questions = run(go())
    assert len(relay.received) == questions > 150
    assert len({received.port for received in relay.received}) == 1
    # Every query in flight had its own id.
    assert len({received.query.id for received in relay.received}) > 100


def test_queries_in_flight_on_one_resolver_are_bounded(dns_server: KnotServer) -> None:
    names = [f"mx{i:02d}.bigmx.test" for i in range(1, 12)] + ["corp-a.test", "corp-b.test", "acme.test"]

    async def go() -> tuple[list[DnsResult], Relay]:
        async with Relay(dns_server.port, hold=0.02) as relay:
            resolver = StubResolver(["127.0.0.1"], relay.port, max_in_flight=4)
            sessions = [DnsSession(resolver, max_concurrency=64) for _ in range(3)]
            results = await asyncio.gather(
                *(
                    session.query(name, rdtype)
                    for session in sessions
                    for name in names
                    for rdtype in ("A", "TXT")
                )
            )
            resolver.close()
            return list(results), relay

    results, relay = run(go())
    assert {result.outcome for result in results} <= {Outcome.ANSWER, Outcome.NODATA}
    assert len(relay.received) == 3 * len(names) * 2
    assert relay.max_outstanding == 4


def test_a_malformed_answer_is_an_error_of_that_server(dns_server: KnotServer) -> None:
    def decide(query: dns.message.Message, _index: int) -> Action:
        response = dns.message.make_response(query)
        response.use_edns(None)  # no OPT record: the TXT record is the message's last
        response.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "TXT", '"v=spf1 -all"'))
        return response.to_wire()[:-5]  # the record's data cut short

    result, relay, _ = through_relay(dns_server, decide, "corp-a.test", "TXT")
    assert result.outcome is Outcome.ERROR
    assert "malformed answer" in result.detail
    assert len(relay.received) == 1


def test_a_closed_resolver_sends_nothing(dns_server: KnotServer) -> None:
    resolver = StubResolver(["127.0.0.1"], dns_server.port)
    assert ask(resolver, "corp-a.test", "TXT").outcome is Outcome.ANSWER
    # `ask` closed it: a later question fails at once, without opening a socket again.
    result = ask(resolver, "corp-b.test", "TXT")
    assert result.outcome is Outcome.ERROR
    assert "closed" in result.detail
    assert resolver.datagrams_sent == 1
