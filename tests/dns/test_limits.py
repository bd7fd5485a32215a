"""Scan limits (review M2): a domain nobody proved to own cannot turn a scan into a stream of queries
under somebody else's domain.

fanout.test is such a tenant zone: its SPF tree fans out under victim.test, whose wildcard answers every
name with three more includes, and its eight MX hosts live there too.
"""

from __future__ import annotations

import pytest

from dmarcwatch.dns.detect import Detector, default_detector
from dmarcwatch.dns.limits import FULL, UNVERIFIED, ForeignNames, scan_session
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.result import ScanResult
from dmarcwatch.dns.scan import scan_domain
from tests.dns.conftest import recording_session, run

pytestmark = pytest.mark.usefixtures("dns_server")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return default_detector().retargeted("test")


def foreign(calls: list[tuple[str, str]], home: str) -> set[str]:
    names = {name.rstrip(".") for name, _ in calls}
    return {name for name in names if name != home and not name.endswith("." + home)}


def scan_recorded(
    domain: str, detector: Detector, limits: object, **session: object
) -> tuple[ScanResult, list[tuple[str, str]]]:
    async def go() -> tuple[ScanResult, list[tuple[str, str]]]:
        recorded, recorder = recording_session(**session)  # type: ignore[arg-type]
        result = await scan_domain(domain, session=recorded, detector=detector, limits=limits)  # type: ignore[arg-type]
        return result, recorder.calls

    return run(go())


def test_a_full_scan_follows_the_fanout_far_into_the_other_domain(detector: Detector) -> None:
    """The reproduction: with the full limits, one scan asks dozens of names under victim.test."""
    result, calls = scan_recorded(
        "fanout.test", detector, FULL, max_queries=FULL.max_queries, max_concurrency=FULL.max_concurrency
    )
    assert len(foreign(calls, "fanout.test")) > 50
    assert len(result.mx_server_ips) == 8


def test_an_unverified_scan_stays_within_its_limits(detector: Detector) -> None:
    async def go() -> tuple[ScanResult, list[tuple[str, str]], int]:
        session, recorder = recording_session(
            max_queries=UNVERIFIED.max_queries,
            max_concurrency=UNVERIFIED.max_concurrency,
            admit=ForeignNames("fanout.test", UNVERIFIED.foreign_names or 0),
        )
        result = await scan_domain("fanout.test", session=session, detector=detector, limits=UNVERIFIED)
        return result, recorder.calls, session.queries_sent

    result, calls, sent = run(go())
    assert sent <= UNVERIFIED.max_queries
    assert len(foreign(calls, "fanout.test")) <= (UNVERIFIED.foreign_names or 0)
    # Three MX hosts resolved, not eight; the SPF tree is cut (over the limit either way) and says so.
    assert result.mx_server_ips == ["192.0.2.201", "192.0.2.202", "192.0.2.203"]
    assert result.spf_status == "over_limit"
    # The mail records of the domain itself are all read.
    assert (result.dmarc_policy_p, len(result.mx)) == ("none", 8)


def test_foreign_names_are_counted_once_and_refused_beyond_the_cap() -> None:
    admit = ForeignNames("www.fanout.test", 2)
    assert admit.home == "fanout.test"
    assert admit("fanout.test") is None
    assert admit("deep.www.fanout.test") is None
    assert admit("a.victim.test") is None
    assert admit("a.victim.test") is None  # the same name again (another type) is not a new one
    assert admit("1.2.0.192.in-addr.arpa") is None
    refusal = admit("b.victim.test")
    assert refusal is not None
    assert "at most 2 names outside fanout.test" in refusal
    assert admit("other.fanout.test") is None  # the domain's own names are never refused


def test_a_refused_question_is_budget_exhausted_never_absent() -> None:
    async def go() -> DnsResult:
        session = DnsSession(admit=lambda name: "not this one")
        return await session.query("a.victim.test", "TXT")

    result = run(go())
    assert result.outcome is Outcome.BUDGET_EXHAUSTED
    assert result.failed
    assert "not this one" in result.describe()


def test_the_scan_session_carries_the_limits() -> None:
    async def go() -> tuple[DnsSession, DnsSession]:
        return scan_session("fanout.test", FULL), scan_session("fanout.test", UNVERIFIED)

    full, unverified = run(go())
    assert (full.max_queries, unverified.max_queries) == (FULL.max_queries, UNVERIFIED.max_queries)

    async def refused(session: DnsSession) -> list[Outcome]:
        return [(await session.query(f"n{i}.victim.test", "TXT")).outcome for i in range(40)]

    assert Outcome.BUDGET_EXHAUSTED in run(refused(scan_session("fanout.test", UNVERIFIED)))
    assert Outcome.BUDGET_EXHAUSTED not in run(refused(scan_session("fanout.test", FULL)))
