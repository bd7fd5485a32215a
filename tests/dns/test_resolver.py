"""The scan resolver against knotd: every outcome is told apart, nothing is asked twice, limits hold."""

from __future__ import annotations

import asyncio
import time

import pytest

from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from tests.dns.conftest import recording_session, run, silent_resolver
from tests.dns.knot import KnotServer

pytestmark = pytest.mark.usefixtures("dns_server")


def ask(name: str, rdtype: str, **kwargs: object) -> DnsResult:
    async def go() -> DnsResult:
        return await DnsSession(**kwargs).query(name, rdtype)  # type: ignore[arg-type]

    return run(go())


def test_settings_point_the_default_session_at_the_fixture_server(dns_server: KnotServer) -> None:
    result = ask("corp-a.test", "TXT")
    assert result.outcome is Outcome.ANSWER
    assert sorted(result.txt()) == [
        "google-site-verification=Yw3oK3dPq1Zk8nL0mXh2cV9bT4rS6uA5eF7gJ1iH0",
        "v=spf1 include:_spf.google.test ~all",
    ]


def test_split_txt_strings_are_joined_without_a_space() -> None:
    assert ask("split.test", "TXT").txt() == [
        "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 include:_spf.google.test ~all"
    ]


def test_mx_and_addresses() -> None:
    assert ask("corp-a.test", "MX").mx() == [
        (1, "aspmx.l.google.test"),
        (5, "alt1.aspmx.l.google.test"),
        (5, "alt2.aspmx.l.google.test"),
        (10, "alt3.aspmx.l.google.test"),
        (10, "alt4.aspmx.l.google.test"),
    ]
    assert ask("nullmx.test", "MX").mx() == [(0, ".")]
    assert ask("aspmx.l.google.test", "AAAA").addresses() == ["2001:db8:4860::1a"]


def test_nxdomain_and_nodata_are_void_not_failures() -> None:
    nxdomain = ask("nothere.corp-a.test", "TXT")
    assert nxdomain.outcome is Outcome.NXDOMAIN
    assert (nxdomain.void, nxdomain.failed) == (True, False)
    nodata = ask("sub.corp-a.test", "TXT")  # the name has an A record only
    assert nodata.outcome is Outcome.NODATA
    assert (nodata.void, nodata.failed) == (True, False)


def test_servfail_from_a_zone_that_failed_to_load() -> None:
    for name in ("servfail.test", "_dmarc.servfail.test", "anything.servfail.test"):
        result = ask(name, "TXT")
        assert result.outcome is Outcome.SERVFAIL, name
        assert (result.void, result.failed) == (False, True)
        assert "SERVFAIL" in result.describe()


def test_refused_is_an_error_not_a_missing_record() -> None:
    # knotd refuses names outside its zones, as an authoritative server does.
    result = ask("example.invalid", "TXT")
    assert result.outcome is Outcome.ERROR
    assert "REFUSED" in result.detail
    assert (result.void, result.failed) == (False, True)


def test_timeout_against_a_server_that_never_answers(silent_port: int) -> None:
    started = time.monotonic()
    result = ask("corp-a.test", "TXT", resolver=silent_resolver(silent_port, timeout=0.3))
    elapsed = time.monotonic() - started
    assert result.outcome is Outcome.TIMEOUT
    assert (result.void, result.failed) == (False, True)
    assert 0.25 < elapsed < 5.0  # the timeout is honoured: never early, and bounded (loosely, for CI)


def test_invalid_name_is_not_sent() -> None:
    async def go() -> tuple[DnsResult, int]:
        session = DnsSession()
        result = await session.query("x" * 64 + ".corp-a.test", "TXT")
        return result, session.queries_sent

    result, sent = run(go())
    assert result.outcome is Outcome.ERROR
    assert result.detail.startswith("invalid name")
    assert sent == 0


def test_same_question_is_asked_once_even_concurrently() -> None:
    async def go() -> tuple[list[DnsResult], int, int, list[tuple[str, str]]]:
        session, recorder = recording_session(delay=0.02)
        results = await asyncio.gather(*(session.query("corp-a.test", "TXT") for _ in range(5)))
        results.append(await session.query("CORP-A.test.", "txt"))  # same question, other spelling
        return list(results), session.queries_sent, session.memo_hits, recorder.calls

    results, sent, hits, calls = run(go())
    assert {result.outcome for result in results} == {Outcome.ANSWER}
    assert sent == 1
    assert hits == 5
    assert calls == [("corp-a.test.", "TXT")]


def test_query_budget() -> None:
    async def go() -> tuple[list[DnsResult], int, int]:
        session = DnsSession(max_queries=2)
        results = [
            await session.query("corp-a.test", "TXT"),
            await session.query("corp-b.test", "TXT"),
            await session.query("split.test", "TXT"),  # third distinct question: over budget
            await session.query("corp-a.test", "TXT"),  # remembered: still answered
        ]
        return results, session.queries_sent, session.budget_refusals

    results, sent, refusals = run(go())
    assert [result.outcome for result in results] == [
        Outcome.ANSWER,
        Outcome.ANSWER,
        Outcome.BUDGET_EXHAUSTED,
        Outcome.ANSWER,
    ]
    assert results[2].failed
    assert (sent, refusals) == (2, 1)


def test_concurrency_is_bounded() -> None:
    names = [f"mx{i:02d}.bigmx.test" for i in range(1, 12)]

    async def go() -> int:
        session, recorder = recording_session(delay=0.01, max_concurrency=3)
        await asyncio.gather(*(session.query(name, "A") for name in names))
        return recorder.max_in_flight

    assert run(go()) == 3


def test_queries_ask_for_the_ad_flag_and_results_carry_it() -> None:
    import dns.flags

    from dmarcwatch.dns.resolver import DnsResult, Outcome, build_resolver

    assert build_resolver().flags & dns.flags.AD
    # An authoritative server never vouches (AD is a validating resolver's statement).
    assert DnsResult("x.test", "SOA", Outcome.ANSWER).authenticated is False
