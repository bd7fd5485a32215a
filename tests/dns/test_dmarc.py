"""DMARC discovery, parsing and report authorization against the fixture zones."""

from __future__ import annotations

import pytest

from dmarcwatch.dns.dmarc import DmarcResult, DmarcStatus, check_dmarc, organizational_domain, parse_dmarc
from dmarcwatch.dns.models import Issue, Severity
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from tests.dns.conftest import recording_session, run, silent_resolver


def dmarc(domain: str, **session_options: object) -> DmarcResult:
    async def go() -> DmarcResult:
        return await check_dmarc(DnsSession(**session_options), domain)  # type: ignore[arg-type]

    return run(go())


def codes(issues: list[Issue], severity: Severity | None = None) -> list[str]:
    return [issue.code for issue in issues if severity is None or issue.severity is severity]


# --- organizational domain (no DNS) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "organizational"),
    [
        # `.test` is not in the Public Suffix List: the default "*" rule makes it a suffix.
        ("sub.corp-a.test", "corp-a.test"),
        ("a.b.sub.corp-a.test.", "corp-a.test"),
        ("corp-a.test", "corp-a.test"),
        ("test", "test"),
        ("mail.example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        # Private-section entries count too: each github.io site is its own organization.
        ("www.alice.github.io", "alice.github.io"),
        ("Reports.Example.COM", "example.com"),
    ],
)
def test_organizational_domain(name: str, organizational: str) -> None:
    assert organizational_domain(name) == organizational


# --- parsing (no DNS) ------------------------------------------------------------------------------------


def test_parse_full_record() -> None:
    policy, issues = parse_dmarc(
        "v=DMARC1;p=reject; sp=quarantine ; np=reject; adkim=s; aspf=r; fo=0:1:d:s; t=n; psd=n;"
        " rua=mailto:dmarc@example.com!10m,mailto:agg@vendor.example; ruf=mailto:forensic%2Bdmarc@example.com"
    )
    assert policy is not None
    assert (policy.p, policy.sp, policy.np, policy.adkim, policy.aspf, policy.t, policy.psd) == (
        "reject", "quarantine", "reject", "s", "r", "n", "n"
    )  # fmt: skip
    assert policy.fo == ["0", "1", "d", "s"]
    assert [(uri.address, uri.domain, uri.size_limit) for uri in policy.rua] == [
        ("dmarc@example.com", "example.com", "10m"),
        ("agg@vendor.example", "vendor.example", None),
    ]
    # Percent-encoding is undone (RFC 7489 §6.3 requires it for ',' and '!').
    assert [uri.address for uri in policy.ruf] == ["forensic+dmarc@example.com"]
    assert issues == []


@pytest.mark.parametrize(
    ("record", "error_codes", "warning_codes"),
    [
        ("v=DMARC1; p=reject; rua=mailto:d@example.com", [], []),
        ("v=DMARC1; p=reject", [], ["no_rua"]),
        ("v=DMARC1; p=none; rua=mailto:d@example.com", [], ["p_none"]),
        ("v=DMARC1; rua=mailto:d@example.com", [], ["missing_p"]),
        ("v=DMARC1", ["missing_p"], ["no_rua"]),
        ("v=DMARC1; p=reject; p=none; rua=mailto:d@example.com", ["duplicate_tag"], []),
        ("v=DMARC1; p=Reject; rua=mailto:d@example.com", [], []),
        ("v=DMARC1; p=reject; pct=101; rua=mailto:d@example.com", ["invalid_pct"], ["obsolete_tag"]),
        ("v=DMARC1; p=reject; pct=-1; rua=mailto:d@example.com", ["invalid_pct"], ["obsolete_tag"]),
        ("v=DMARC1; p=reject; pct=100; rua=mailto:d@example.com", [], ["obsolete_tag"]),
        ("v=DMARC1; p=reject; pct=0; rua=mailto:d@example.com", [], ["partial_pct", "obsolete_tag"]),
        ("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com", [], ["sp_none"]),
        ("v=DMARC1; p=reject; np=block; rua=mailto:d@example.com", ["invalid_policy"], []),
        ("v=DMARC1; p=reject; rua=d@example.com", ["invalid_uri"], []),
        ("v=DMARC1; p=reject; rua=mailto:@example.com", ["invalid_uri"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@exa mple.com", ["invalid_uri"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com!10x", ["invalid_uri"], []),
        ("v=DMARC1; p=reject; rua=https://r.example.com/x", [], ["non_mailto_uri"]),
        (
            "v=DMARC1; p=reject; rua=mailto:d@example.com; ri=86400; rf=afrf",
            [],
            ["obsolete_tag", "obsolete_tag"],
        ),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; ri=soon", ["invalid_ri"], ["obsolete_tag"]),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; rf=iodef", ["invalid_rf"], ["obsolete_tag"]),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; t=maybe", ["invalid_t"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; psd=x", ["invalid_psd"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; aspf=relaxed", ["invalid_alignment"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; fo=1:2", ["invalid_fo"], []),
        ("v=DMARC1; p=reject; rua=mailto:d@example.com; x_custom=1", [], ["unknown_tag"]),
        ("p=reject; v=DMARC1", ["version_not_first"], []),
        ("v=DMARC2; p=reject", ["version_not_first"], []),
        ("v=DMARC1; p reject", ["syntax"], []),
    ],
)
def test_parse_validation(record: str, error_codes: list[str], warning_codes: list[str]) -> None:
    _policy, issues = parse_dmarc(record)
    assert codes(issues, Severity.ERROR) == error_codes
    assert codes(issues, Severity.WARNING) == warning_codes


# --- discovery and authorization against knotd ------------------------------------------------------------


@pytest.mark.usefixtures("dns_server")
class TestDiscovery:
    def test_record_at_the_domain_with_external_destination_authorized(self) -> None:
        result = dmarc("corp-a.test")
        assert result.status is DmarcStatus.VALID
        assert (result.source, result.policy_domain, result.record_name) == (
            "domain",
            "corp-a.test",
            "_dmarc.corp-a.test",
        )
        assert result.policy is not None
        assert (result.policy.p, result.policy.sp, result.policy.adkim, result.policy.fo) == (
            "quarantine", "reject", "s", ["1"]
        )  # fmt: skip
        assert result.effective_policy == "quarantine"
        assert [(d.domain, d.tags, d.external, d.authorization, d.query) for d in result.destinations] == [
            ("corp-a.test", ["rua", "ruf"], False, "not_required", None),
            (
                "dmarc-vendor.test",
                ["rua"],
                True,
                "authorized",
                "corp-a.test._report._dmarc.dmarc-vendor.test",
            ),
        ]
        assert result.issues == []

    def test_organizational_fallback(self) -> None:
        result = dmarc("sub.corp-a.test")
        assert result.status is DmarcStatus.VALID
        assert (result.source, result.policy_domain, result.organizational_domain) == (
            "organizational", "corp-a.test", "corp-a.test"
        )  # fmt: skip
        assert result.record_name == "_dmarc.corp-a.test"
        # sp=reject applies to subdomains, not p=quarantine.
        assert result.effective_policy == "reject"
        # Authorization is asked for the domain the policy came from.
        assert result.destinations[1].query == "corp-a.test._report._dmarc.dmarc-vendor.test"
        assert result.destinations[1].authorization == "authorized"

    def test_fallback_asks_both_names_at_once_and_nothing_twice(self) -> None:
        async def go() -> tuple[DmarcResult, list[tuple[str, str]]]:
            session, recorder = recording_session()
            result = await check_dmarc(session, "sub.corp-a.test")
            await check_dmarc(session, "corp-a.test")  # everything already known
            return result, recorder.calls

        result, calls = run(go())
        assert result.status is DmarcStatus.VALID
        # The RFC 9990 tree walk's names, all at once; _dmarc.corp-a.test is also the RFC 7489 fallback.
        assert calls == [
            ("_dmarc.sub.corp-a.test.", "TXT"),
            ("_dmarc.corp-a.test.", "TXT"),
            ("_dmarc.test.", "TXT"),
            ("corp-a.test._report._dmarc.dmarc-vendor.test.", "TXT"),
        ]

    def test_external_destination_not_authorized(self) -> None:
        result = dmarc("corp-b.test")
        assert result.status is DmarcStatus.VALID
        assert result.effective_policy == "reject"
        assert [(d.domain, d.organizational_domain, d.authorization) for d in result.destinations] == [
            ("reports.unauth-vendor.test", "unauth-vendor.test", "unauthorized")
        ]
        assert result.destinations[0].query == "corp-b.test._report._dmarc.reports.unauth-vendor.test"
        assert codes(result.issues) == ["partial_pct", "obsolete_tag", "destination_unauthorized"]

    def test_monitoring_policy_and_destination_in_servfail_zone(self) -> None:
        result = dmarc("monitor.test")
        assert result.status is DmarcStatus.VALID
        assert result.effective_policy == "none"
        assert [(d.domain, d.authorization) for d in result.destinations] == [
            ("monitor.test", "not_required"),
            ("servfail.test", "error"),
        ]
        assert "SERVFAIL" in (result.destinations[1].detail or "")
        assert codes(result.issues) == ["obsolete_tag", "obsolete_tag", "p_none", "destination_unknown"]

    def test_missing(self) -> None:
        result = dmarc("nodmarc.test")
        assert result.status is DmarcStatus.MISSING
        assert result.source is None
        assert result.reasons == ["no DMARC record at _dmarc.nodmarc.test"]

    def test_missing_after_fallback(self) -> None:
        result = dmarc("www.nodmarc.test")
        assert result.status is DmarcStatus.MISSING
        assert result.reasons == ["no DMARC record at _dmarc.www.nodmarc.test and _dmarc.nodmarc.test"]

    def test_duplicate_records(self) -> None:
        result = dmarc("dupdmarc.test")
        assert result.status is DmarcStatus.INVALID
        assert result.policy is None
        assert len(result.records) == 2
        assert codes(result.issues) == ["multiple_records"]

    def test_invalid_values(self) -> None:
        result = dmarc("baddmarc.test")
        assert result.status is DmarcStatus.INVALID
        assert codes(result.issues, Severity.ERROR) == [
            "invalid_policy",
            "invalid_pct",
            "invalid_uri",
            "invalid_alignment",
            "invalid_fo",
        ]
        assert codes(result.issues, Severity.WARNING) == ["non_mailto_uri", "obsolete_tag", "unknown_tag"]

    def test_version_not_first_is_invalid_not_missing(self) -> None:
        result = dmarc("order.baddmarc.test")
        assert result.status is DmarcStatus.INVALID
        assert (result.source, result.policy_domain) == ("domain", "order.baddmarc.test")
        assert codes(result.issues) == ["version_not_first"]

    def test_servfail_is_an_error_never_missing(self) -> None:
        for domain in ("servfail.test", "sub.servfail.test"):
            result = dmarc(domain)
            assert result.status is DmarcStatus.ERROR, domain
            assert codes(result.issues) == ["dns_servfail"]

    def test_servfail_during_fallback_is_an_error(self) -> None:
        # _dmarc.ok.servfail.test: NXDOMAIN from a healthy zone; _dmarc.servfail.test: SERVFAIL.
        result = dmarc("ok.servfail.test")
        assert result.status is DmarcStatus.ERROR
        assert result.reasons == [
            "cannot tell whether a DMARC record exists: TXT lookup for _dmarc.servfail.test failed: "
            "the server answered SERVFAIL"
        ]

    def test_timeout_is_an_error(self, silent_port: int) -> None:
        result = dmarc("corp-a.test", resolver=silent_resolver(silent_port, timeout=0.3))
        assert result.status is DmarcStatus.ERROR
        assert codes(result.issues) == ["dns_timeout"]


# --- RFC 9990 tree walk ------------------------------------------------------------------------------------


def test_tree_walk_names() -> None:
    from dmarcwatch.dns.dmarc import tree_walk_names

    assert tree_walk_names("a.b.example.com") == ["a.b.example.com", "b.example.com", "example.com", "com"]
    ten = ".".join(f"l{i}" for i in range(9)) + ".com"
    # More than 8 labels: after the domain itself, jump to the 7 rightmost; at most 8 names in all.
    assert tree_walk_names(ten) == [
        ten,
        "l3.l4.l5.l6.l7.l8.com",
        "l4.l5.l6.l7.l8.com",
        "l5.l6.l7.l8.com",
        "l6.l7.l8.com",
        "l7.l8.com",
        "l8.com",
        "com",
    ]


@pytest.mark.usefixtures("dns_server")
def test_tree_walk_finds_an_intermediate_record_and_warns() -> None:
    result = dmarc("mail.eu.walk.test")
    assert (result.source, result.policy_domain, result.organizational_domain) == (
        "treewalk",
        "eu.walk.test",
        "walk.test",
    )
    assert result.effective_policy == "reject"
    assert "treewalk_only" in codes(result.issues)


@pytest.mark.usefixtures("dns_server")
def test_tree_walk_agrees_with_the_organizational_fallback_when_nothing_is_in_between() -> None:
    result = dmarc("other.walk.test")
    assert (result.source, result.policy_domain) == ("organizational", "walk.test")
    assert result.effective_policy == "quarantine"
    assert "treewalk_only" not in codes(result.issues)


# --- the policy that applies (p, sp, np) --------------------------------------------------------------------


@pytest.mark.usefixtures("dns_server")
@pytest.mark.parametrize(
    ("domain", "applied", "source", "exists"),
    [
        # Its own record: p, whatever a parent publishes.
        ("corp-a.test", "quarantine", "own_record", None),
        ("own.np.test", "quarantine", "own_record", None),
        # A subdomain under "p=quarantine; sp=reject": sp (existence is asked only for an np tag).
        ("sub.corp-a.test", "reject", "sp", None),
        # Under "p=none; sp=quarantine; np=reject": np only for a name that does not exist.
        ("ghost.np.test", "reject", "np", False),
        ("a.b.ghost.np.test", "reject", "np", False),
        ("www.np.test", "quarantine", "sp", True),
        # An empty non-terminal exists (NOERROR without data, RFC 8020): sp, not np.
        ("deep.np.test", "quarantine", "sp", True),
        # RFC 9990 tree walk: _dmarc.eu.walk.test (p=reject, no sp) is the nearest record.
        ("mail.eu.walk.test", "reject", "p", None),
        ("other.walk.test", "quarantine", "sp", None),
    ],
)
def test_the_applied_policy_and_where_it_comes_from(
    domain: str, applied: str, source: str, exists: bool | None
) -> None:
    result = dmarc(domain)
    assert result.status is DmarcStatus.VALID
    assert (result.effective_policy, result.policy_source, result.domain_exists) == (applied, source, exists)


@pytest.mark.usefixtures("dns_server")
def test_np_is_not_applied_when_existence_cannot_be_told() -> None:
    """A failed existence lookup is not NXDOMAIN: sp applies, and a warning says np might."""

    class FailingAddresses(DnsSession):
        async def query(self, name: str, rdtype: str) -> DnsResult:
            if rdtype == "A":
                return DnsResult(name, rdtype, Outcome.SERVFAIL)
            return await super().query(name, rdtype)

    async def go() -> DmarcResult:
        return await check_dmarc(FailingAddresses(), "ghost.np.test")

    result = run(go())
    assert (result.effective_policy, result.policy_source, result.domain_exists) == ("quarantine", "sp", None)
    assert "existence_unknown" in codes(result.issues, Severity.WARNING)


@pytest.mark.usefixtures("dns_server")
def test_existence_is_asked_once_and_only_for_np() -> None:
    async def go() -> list[tuple[str, str]]:
        session, recorder = recording_session()
        await check_dmarc(session, "ghost.np.test")
        await check_dmarc(session, "sub.corp-a.test")
        return recorder.calls

    calls = run(go())
    assert [call for call in calls if call[1] == "A"] == [("ghost.np.test.", "A")]
