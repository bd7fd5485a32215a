"""SPF analysis of the fixture zones. Every expected number is counted by hand from tests/dns/zones/."""

from __future__ import annotations

import pytest

from dmarcwatch.dns.models import Issue, Severity
from dmarcwatch.dns.resolver import DnsSession
from dmarcwatch.dns.spf import SpfResult, SpfStatus, check_spf
from tests.dns.conftest import recording_session, run, silent_resolver

pytestmark = pytest.mark.usefixtures("dns_server")


def spf(domain: str, **session_options: object) -> SpfResult:
    async def go() -> SpfResult:
        return await check_spf(DnsSession(**session_options), domain)  # type: ignore[arg-type]

    return run(go())


def codes(issues: list[Issue], severity: Severity | None = None) -> list[str]:
    return [issue.code for issue in issues if severity is None or issue.severity is severity]


def by_mechanism(include: int = 0, a: int = 0, mx: int = 0, ptr: int = 0, exists: int = 0, redirect: int = 0):  # type: ignore[no-untyped-def]
    return {"include": include, "a": a, "mx": mx, "ptr": ptr, "exists": exists, "redirect": redirect}


def test_google_workspace_tenant() -> None:
    result = spf("corp-a.test")
    assert result.status is SpfStatus.VALID
    assert result.record == "v=spf1 include:_spf.google.test ~all"
    # include:_spf.google.test (1) -> _netblocks, _netblocks2, _netblocks3 (3)
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (1, 3, 4)
    assert result.lookups.by_mechanism == by_mechanism(include=4)
    assert result.lookups.void == 0
    assert not result.lookups.lower_bound
    assert result.issues == []
    assert result.reasons == []
    google = result.tree.terms[0].child if result.tree else None
    assert google is not None
    assert (google.domain, google.via, google.lookups, google.total_lookups) == (
        "_spf.google.test",
        "include",
        3,
        3,
    )
    assert [term.child.domain for term in google.terms if term.child] == [
        "_netblocks.google.test",
        "_netblocks2.google.test",
        "_netblocks3.google.test",
    ]
    netblocks = google.terms[0].child
    assert netblocks is not None
    # The record is two strings; joined without a space it holds 11 ip4 terms.
    assert [term.name for term in netblocks.terms].count("ip4") == 11


def test_microsoft_365_tenant_with_nested_includes() -> None:
    result = spf("corp-b.test")
    assert result.status is SpfStatus.VALID
    # include (1), mx (1), a (1) in the record; spfd nested in spf.protection (1).
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (3, 1, 4)
    assert result.lookups.by_mechanism == by_mechanism(include=2, mx=1, a=1)
    assert result.tree is not None
    terms = {term.name: term for term in result.tree.terms}
    assert terms["ip4"].value == "203.0.113.0/28"
    assert terms["ip4"].cidr4 == 28
    assert terms["a"].addresses == ["203.0.113.20"]
    assert [(host.preference, host.host, host.addresses) for host in terms["mx"].mx_hosts] == [
        (0, "corp-b-test.mail.protection.outlook.test", ["198.51.100.68", "2001:db8:111::68"])
    ]
    protection = terms["include"].child
    # A node counts what evaluating its record costs; the include that reached it counts in the parent.
    assert protection is not None
    assert (protection.lookups, protection.total_lookups) == (1, 1)
    assert protection.terms[-2].child is not None
    assert protection.terms[-2].child.domain == "spfd.protection.outlook.test"


def test_more_than_ten_lookups() -> None:
    result = spf("many-lookups.test")
    assert result.status is SpfStatus.OVER_LIMIT
    # a, mx, 5 includes = 7; google 3 + outlook 1 + sendgrid 0 + mailgun 2 + mcsv 0 = 6.
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (7, 6, 13)
    assert result.lookups.by_mechanism == by_mechanism(include=11, a=1, mx=1)
    assert codes(result.issues, Severity.ERROR) == ["too_many_lookups"]
    assert result.reasons == [
        "13 DNS lookups (7 in the record, 6 nested); receivers stop at 10 with permerror"
    ]


def test_three_void_lookups() -> None:
    result = spf("void.test")
    assert result.status is SpfStatus.OVER_LIMIT
    assert result.lookups.void == 3
    assert (result.lookups.main, result.lookups.total) == (3, 3)
    assert result.lookups.by_mechanism == by_mechanism(a=1, mx=1, exists=1)
    assert result.tree is not None
    assert [(term.name, term.void) for term in result.tree.terms] == [
        ("ip4", False),
        ("a", True),
        ("mx", True),
        ("exists", True),
        ("all", False),
    ]
    assert codes(result.issues, Severity.ERROR) == ["too_many_void_lookups"]


def test_include_loop() -> None:
    result = spf("loop.test")
    assert result.status is SpfStatus.INVALID
    # include:a (1) + include:b (1) + the looping include:a (1, counted, not followed)
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (1, 2, 3)
    assert codes(result.issues) == ["include_loop"]
    loop = result.issues[0]
    assert loop.message == "include loop: loop.test -> a.loop.test -> b.loop.test -> a.loop.test"
    assert (loop.domain, loop.term, loop.term_index, loop.position) == (
        "b.loop.test",
        "include:a.loop.test",
        2,
        22,
    )


def test_redirect_chain() -> None:
    result = spf("redirect.test")
    assert result.status is SpfStatus.VALID
    # redirect (1) -> _spf: redirect (1) -> _spf2: include (1) -> google: 3
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (1, 5, 6)
    assert result.lookups.by_mechanism == by_mechanism(include=4, redirect=2)
    assert result.issues == []
    chain = []
    node = result.tree
    while node is not None:
        chain.append((node.domain, node.via))
        node = next((term.child for term in node.terms if term.name == "redirect"), None)
    assert chain == [
        ("redirect.test", None),
        ("_spf.redirect.test", "redirect"),
        ("_spf2.redirect.test", "redirect"),
    ]


def test_redirect_ignored_when_all_present() -> None:
    result = spf("ignored.redirect.test")
    assert result.status is SpfStatus.VALID
    assert result.lookups.total == 0
    assert result.tree is not None
    redirect = result.tree.terms[-1]
    assert (redirect.name, redirect.ignored, redirect.counts_lookup, redirect.child) == (
        "redirect",
        True,
        False,
        None,
    )
    assert codes(result.issues) == ["redirect_ignored"]


def test_two_spf_records() -> None:
    result = spf("twospf.test")
    assert result.status is SpfStatus.INVALID
    assert result.record is None
    assert result.tree is not None
    assert sorted(result.tree.records) == [
        "v=spf1 include:_spf.google.test ~all",
        "v=spf1 ip4:192.0.2.0/24 -all",
    ]
    assert codes(result.issues) == ["multiple_records"]


def test_split_strings_joined_without_space() -> None:
    result = spf("split.test")
    assert result.status is SpfStatus.VALID
    assert result.record == "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 include:_spf.google.test ~all"
    assert result.lookups.total == 4


def test_mx_of_a_null_mx_domain() -> None:
    result = spf("sender.nullmx.test")
    assert result.status is SpfStatus.VALID
    assert result.lookups.total == 1
    assert result.lookups.void == 0
    assert result.tree is not None
    mx = result.tree.terms[0]
    assert (mx.name, mx.null_mx, mx.mx_hosts) == ("mx", True, [])
    assert codes(result.issues) == ["null_mx"]


def test_macros() -> None:
    result = spf("macro.test")
    assert result.status is SpfStatus.VALID
    assert result.tree is not None
    exists, include = result.tree.terms[0], result.tree.terms[1]
    assert (exists.unexpanded, exists.counts_lookup, exists.target) == (True, True, None)
    assert (include.unexpanded, include.target) == (False, "_spf.macro.test")
    assert include.child is not None
    assert include.child.record == "v=spf1 ip4:192.0.2.0/24 -all"
    assert (result.lookups.main, result.lookups.total) == (2, 2)
    assert result.lookups.lower_bound
    assert result.unexpanded == ["exists:%{i}._spf.macro.test"]
    assert codes(result.issues) == ["unexpanded_macros"]


def test_bad_macro_is_a_syntax_error_with_position() -> None:
    result = spf("bad.macro.test")
    assert result.status is SpfStatus.INVALID
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert (issue.code, issue.term, issue.term_index, issue.position) == (
        "syntax",
        "include:%{x}.macro.test",
        2,
        21,
    )


def test_syntax_errors_with_positions() -> None:
    result = spf("syntax.test")
    # "v=spf1 ip4:192.0.2.300 include: a/33 foo:bar ptr +all"
    assert result.status is SpfStatus.INVALID
    located = [(issue.code, issue.term, issue.term_index, issue.position) for issue in result.issues]
    assert located == [
        ("syntax", "ip4:192.0.2.300", 1, 7),
        ("syntax", "include:", 2, 23),
        ("syntax", "a/33", 3, 32),
        ("syntax", "foo:bar", 4, 37),
        ("ptr", "ptr", 5, 45),
        ("pass_all", "+all", 6, 49),
    ]
    assert result.lookups.by_mechanism == by_mechanism(ptr=1)


def test_include_of_missing_domain_and_of_domain_without_spf() -> None:
    result = spf("badinclude.test")
    assert result.status is SpfStatus.INVALID
    assert codes(result.issues) == ["include_nxdomain", "include_no_spf"]
    assert result.lookups.void == 1
    assert (result.lookups.main, result.lookups.total) == (2, 2)


def test_more_than_ten_mx_hosts() -> None:
    result = spf("bigmx.test")
    assert result.status is SpfStatus.OVER_LIMIT
    assert codes(result.issues) == ["too_many_mx_hosts"]
    assert result.tree is not None
    assert len(result.tree.terms[0].mx_hosts) == 11


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("sub.corp-a.test", "no SPF record: sub.corp-a.test has no TXT records"),
        ("nothere.corp-a.test", "no SPF record: nothere.corp-a.test does not exist (NXDOMAIN)"),
        (
            "notspf.badinclude.test",
            "no SPF record: none of the TXT records of notspf.badinclude.test begins with 'v=spf1'",
        ),
    ],
)
def test_missing(domain: str, reason: str) -> None:
    result = spf(domain)
    assert result.status is SpfStatus.MISSING
    assert result.reasons == [reason]


def test_servfail_is_an_error_never_missing() -> None:
    result = spf("servfail.test")
    assert result.status is SpfStatus.ERROR
    assert codes(result.issues) == ["dns_servfail"]
    assert result.reasons == ["TXT lookup for servfail.test failed: the server answered SERVFAIL"]


def test_servfail_inside_the_tree() -> None:
    result = spf("partner.test")
    assert result.status is SpfStatus.ERROR
    assert codes(result.issues) == ["dns_servfail"]
    assert result.issues[0].domain == "_spf.servfail.test"
    # both includes counted; google's 3 nested; the broken branch's content is unknown
    assert (result.lookups.main, result.lookups.nested, result.lookups.total) == (2, 3, 5)
    assert result.lookups.lower_bound


def test_refused_is_an_error_never_missing() -> None:
    result = spf("example.invalid")
    assert result.status is SpfStatus.ERROR
    assert codes(result.issues) == ["dns_error"]


def test_timeout_is_an_error_never_missing(silent_port: int) -> None:
    result = spf("corp-a.test", resolver=silent_resolver(silent_port, timeout=0.3))
    assert result.status is SpfStatus.ERROR
    assert codes(result.issues) == ["dns_timeout"]


def test_budget_exhausted_is_an_error() -> None:
    result = spf("many-lookups.test", max_queries=3)
    assert result.status is SpfStatus.ERROR
    assert set(codes(result.issues, Severity.ERROR)) == {"dns_budget_exhausted"}
    assert result.lookups.lower_bound
    assert result.lookups.main == 7


def test_one_scan_never_asks_the_same_question_twice() -> None:
    async def go() -> tuple[list[SpfResult], list[tuple[str, str]], int]:
        session, recorder = recording_session()
        results = [
            await check_spf(session, domain) for domain in ("corp-a.test", "split.test", "many-lookups.test")
        ]
        return results, recorder.calls, session.queries_sent

    results, calls, sent = run(go())
    assert [result.status for result in results] == [SpfStatus.VALID, SpfStatus.VALID, SpfStatus.OVER_LIMIT]
    assert len(calls) == len(set(calls)) == sent
    # corp-a: 5 TXT. split: its own TXT only (google is remembered). many-lookups: its TXT, A, AAAA, MX,
    # mail A + AAAA, 4 new include TXT (outlook, sendgrid, mailgun, mcsv) + spfd + mailgun's 2 = 13.
    assert sent == 5 + 1 + 13


def test_independent_lookups_run_concurrently() -> None:
    """The 17 queries of many-lookups.test take 3 sequential round trips, not 17 (counted, not timed)."""

    async def go() -> tuple[SpfResult, int, int, int]:
        session, recorder = recording_session(delay=0.25)
        result = await check_spf(session, "many-lookups.test")
        return result, recorder.rounds(), len(recorder.calls), recorder.max_in_flight

    result, rounds, queries, peak = run(go())
    assert result.lookups.total == 13
    assert queries == 17
    assert rounds == 3, f"{rounds} sequential rounds: lookups were not run concurrently"
    assert peak >= 8


def test_huge_trees_are_cut_and_reported_over_limit() -> None:
    # many-lookups.test has 9 records; allow 4 (the top one and the first three followed).
    result = spf_with_cap("many-lookups.test", max_records=4)
    assert result.truncated
    assert result.status is SpfStatus.OVER_LIMIT
    assert result.lookups.lower_bound
    assert "truncated" in codes(result.issues)


def spf_with_cap(domain: str, max_records: int) -> SpfResult:
    async def go() -> SpfResult:
        return await check_spf(DnsSession(), domain, max_records=max_records)

    return run(go())
