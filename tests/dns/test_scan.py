"""Full domain scans of the fixture zones. Expected values are read off tests/dns/zones/ by hand.

Provider names in the fixtures are the real ones under `.test` (google.test for google.com, mimecast.test
for mimecast.com ...), so the scans use the packaged tables retargeted to the `.test` TLD.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from dmarcwatch import geo
from dmarcwatch.dns.detect import Detector, default_detector
from dmarcwatch.dns.dkim import selector_table
from dmarcwatch.dns.resolver import DnsSession
from dmarcwatch.dns.result import DkimStatus, ScanResult
from dmarcwatch.dns.scan import SCAN_MAX_CONCURRENCY, SCAN_MAX_QUERIES, SRV_SERVICES, scan, scan_domain
from tests.dns.conftest import recording_session, run, silent_resolver

pytestmark = pytest.mark.usefixtures("dns_server")

COMMON_SELECTORS = len(selector_table())
# acme.test, counted from the zones: MX, TXT, _dmarc TXT, A, AAAA, NS, CAA, DS, SOA (with the AD probe),
# BIMI, MTA-STS, TLS-RPT (12); _dmarc.test, the RFC 9990 tree walk's other name (1); 6 SRV; 3 includes +
# Google's 3 netblocks (6); 2 MX hosts x A/AAAA (4); 2 PTR; and the DKIM selectors (the list + acme2024).
ACME_QUERIES = 12 + 1 + 6 + 6 + 4 + 2 + COMMON_SELECTORS + 1


@pytest.fixture(scope="module")
def detector() -> Detector:
    return default_detector().retargeted("test")


@pytest.fixture(scope="module", autouse=True)
def _geo_database_loaded() -> None:
    """The offline geo database loads on first use (about a second): not part of any timed scan."""
    geo.load()


def full_scan(domain: str, detector: Detector, **options: Any) -> ScanResult:
    return run(scan_domain(domain, detector=detector, **options))


def checks(result: ScanResult) -> list[tuple[str, str]]:
    return [(error.check, error.outcome) for error in result.errors]


def test_full_scan_of_a_well_configured_domain(detector: Detector) -> None:
    result = full_scan("ACME.test.", detector, extra_dkim_selectors=["acme2024", "Google", "bad selector!"])
    assert result.domain == "acme.test"
    assert result.errors == []
    assert [(mx.priority, mx.host) for mx in result.mx] == [
        (10, "eu-smtp-inbound-1.mimecast.test"),
        (20, "eu-smtp-inbound-2.mimecast.test"),
    ]
    assert result.email_gateway == "Mimecast"
    assert result.mx_server_ips == ["195.130.217.11", "195.130.217.12"]
    assert (result.mx_server_country, result.mx_server_asn_org) == ("GB", "Mimecast Services Limited")
    assert result.ptr == {"195.130.217.11": "eu-smtp-inbound-1.mimecast.test", "195.130.217.12": None}

    assert (
        result.spf == "v=spf1 include:_spf.google.test include:sendgrid.test include:servers.mcsv.test -all"
    )
    assert (result.spf_status, result.spf_valid) == ("valid", True)
    # 3 includes in the record; Google's include has 3 more.
    assert (result.spf_dns_lookups, result.spf_lookups_main, result.spf_lookups_nested) == (6, 3, 3)
    assert result.spf_void_lookups == 0
    assert result.sending_services == ["Google Workspace", "Mailchimp", "SendGrid"]

    assert result.dmarc == (
        "v=DMARC1; p=reject; sp=quarantine; pct=100; adkim=s; aspf=s; "
        "rua=mailto:dmarc@acme.test,mailto:agg@acme.test; ruf=mailto:forensic@acme.test"
    )
    assert (result.dmarc_status, result.dmarc_policy_p, result.dmarc_policy_sp, result.dmarc_pct) == (
        "valid",
        "reject",
        "quarantine",
        100,
    )
    assert result.dmarc_rua == ["mailto:dmarc@acme.test", "mailto:agg@acme.test"]
    assert result.dmarc_ruf == ["mailto:forensic@acme.test"]

    assert [
        (k.selector, k.key_type, k.key_bits, k.testing, k.revoked, k.vendor)
        for k in result.dkim_selectors_found
    ] == [
        ("google", "rsa", 2048, False, False, "Google Workspace"),
        ("selector1", "rsa", 1024, True, False, "Microsoft 365"),
        ("k1", "ed25519", 256, False, False, "Mailchimp"),
        ("s1", "rsa", None, False, True, "SendGrid"),
        ("acme2024", "rsa", 3072, False, False, None),
    ]
    assert result.dkim_status is DkimStatus.FOUND
    assert result.dkim_selectors_checked == [*selector_table(), "acme2024"]

    assert result.txt == [
        "MS=ms12345678",
        "ZOOM_verify_aBcDeFgHiJkLmNoP",
        "apple-domain-verification=AbCdEfGhIjKlMnOp",
        "facebook-domain-verification=abcdefghij0123456789klmnopqr",
        "google-site-verification=aCmEtEsTtOkEn0123456789abcdefghijklmnopqrs",
        "some unrelated note",
        "v=spf1 include:_spf.google.test include:sendgrid.test include:servers.mcsv.test -all",
    ]
    assert result.tech_in_dns == ["Apple", "Facebook", "Google", "Microsoft 365", "Zoom"]
    assert result.a == ["104.16.132.229", "104.16.133.229"]
    assert result.aaaa == ["2606:4700::6810:84e5"]
    assert (result.a_server_country, result.a_server_asn_org) == ("US", "CLOUDFLARENET")
    assert result.ns == ["ns1.acme.test", "ns2.acme.test"]
    assert result.soa is not None
    assert (result.soa.serial, result.soa.mname, result.soa.rname) == (
        2024060101,
        "ns1.acme.test",
        "hostmaster.acme.test",
    )
    assert result.bimi is not None
    assert (result.bimi.logo_url, result.bimi.authority) == (
        "https://acme.test/bimi/logo.svg",
        "https://acme.test/bimi/vmc.pem",
    )
    assert result.mta_sts is not None
    assert (result.mta_sts.record, result.mta_sts.id) == ("v=STSv1; id=20240601T120000Z;", "20240601T120000Z")
    assert result.tls_rpt is not None
    assert result.tls_rpt.rua == ["mailto:tlsrpt@acme.test", "https://reports.acme.test/tlsrpt"]
    assert [(s.service, s.priority, s.weight, s.port, s.target) for s in result.srv] == [
        ("_submission._tcp", 0, 1, 587, "smtp.acme.test"),
        ("_imaps._tcp", 0, 1, 993, "imap.acme.test"),
        ("_pop3s._tcp", 0, 0, 0, "."),
        ("_autodiscover._tcp", 0, 5, 443, "autodiscover2.acme.test"),
        ("_autodiscover._tcp", 10, 5, 443, "autodiscover.acme.test"),
    ]
    assert [(c.flags, c.tag, c.value) for c in result.caa] == [
        (128, "iodef", "mailto:security@acme.test"),
        (0, "issue", "letsencrypt.org"),
        (0, "issuewild", ";"),
    ]
    # acme.test's parent (test.) is not served, so there is no DS; an authoritative server never sets AD.
    assert (result.dnssec.ds_present, result.dnssec.ad) == (False, False)
    assert result.queries_sent == ACME_QUERIES


def test_no_question_is_asked_twice() -> None:
    async def go() -> tuple[ScanResult, list[tuple[str, str]]]:
        session, recorder = recording_session(
            max_queries=SCAN_MAX_QUERIES, max_concurrency=SCAN_MAX_CONCURRENCY
        )
        result = await scan_domain("acme.test", session=session, extra_dkim_selectors=["acme2024"])
        return result, recorder.calls

    _, calls = run(go())
    assert len(calls) == len(set(calls))
    assert len(calls) == ACME_QUERIES
    assert calls.count(("acme.test.", "SOA")) == 1
    # SPF and the MX chain share MX-host and TXT answers through the memo.
    assert calls.count(("acme.test.", "TXT")) == 1


def test_scan_is_as_deep_as_its_dependency_chains_not_its_query_count() -> None:
    # With a fixed delay per query, queries that could start together do start together, so the number
    # of sequential rounds is the depth of the dependency chains: MX -> host address -> PTR and TXT ->
    # include -> netblocks are 3 deep. Asked one after another, the 80-odd queries would be 80-odd rounds.
    # (Wall-clock figures are bench/scan.py's job; this counts rounds, which load cannot change.)
    async def go() -> tuple[ScanResult, int, int]:
        session, recorder = recording_session(
            delay=0.25, max_queries=SCAN_MAX_QUERIES, max_concurrency=SCAN_MAX_CONCURRENCY
        )
        result = await scan_domain("acme.test", session=session, extra_dkim_selectors=["acme2024"])
        return result, recorder.rounds(), len(recorder.calls)

    result, rounds, queries = run(go())
    assert result.errors == []
    assert queries > 60
    assert rounds == 3


def test_google_workspace_tenant(detector: Detector) -> None:
    result = full_scan("corp-a.test", detector)
    assert result.errors == []
    assert [mx.host for mx in result.mx] == [
        "aspmx.l.google.test",
        "alt1.aspmx.l.google.test",
        "alt2.aspmx.l.google.test",
        "alt3.aspmx.l.google.test",
        "alt4.aspmx.l.google.test",
    ]
    assert result.email_gateway == "Google Workspace"
    assert result.mx_server_ips == [
        "192.0.2.26",
        "2001:db8:4860::1a",
        "192.0.2.27",
        "2001:db8:4860::1b",
        "192.0.2.28",
        "192.0.2.29",
        "192.0.2.30",
    ]
    # Documentation addresses: no country, and no PTR names (their reverse zones are empty).
    assert result.mx_server_country is None
    assert set(result.ptr.values()) == {None}
    assert result.sending_services == ["Google Workspace"]
    assert result.tech_in_dns == ["Google"]
    assert (result.dmarc_policy_p, result.dmarc_policy_sp) == ("quarantine", "reject")
    assert result.dmarc_rua == ["mailto:dmarc@corp-a.test", "mailto:reports@dmarc-vendor.test"]
    # The fixture's google key is cut short: found, but its size cannot be read.
    assert [(k.selector, k.key_type, k.key_bits) for k in result.dkim_selectors_found] == [
        ("google", "rsa", None)
    ]
    assert result.dkim_status is DkimStatus.FOUND
    assert (result.bimi, result.mta_sts, result.tls_rpt, result.srv, result.caa) == (None, None, None, [], [])


def test_microsoft_365_tenant(detector: Detector) -> None:
    result = full_scan("corp-b.test", detector)
    assert result.errors == []
    assert result.email_gateway == "Microsoft 365"
    assert result.mx_server_ips == ["198.51.100.68", "2001:db8:111::68"]
    assert result.sending_services == ["Microsoft 365"]
    assert result.tech_in_dns == ["Microsoft 365"]
    assert (result.spf_lookups_main, result.spf_lookups_nested, result.spf_dns_lookups) == (3, 1, 4)
    assert (result.dmarc_policy_p, result.dmarc_pct, result.dmarc_rua) == (
        "reject",
        50,
        ["mailto:rua@reports.unauth-vendor.test"],
    )
    assert result.dkim_selectors_found == []
    assert result.dkim_status is DkimStatus.NOT_FOUND
    assert (result.a_server_country, result.a) == (None, ["203.0.113.20"])


def test_delegated_subdomain_with_ds_and_null_mx(detector: Detector) -> None:
    result = full_scan("secure.dnssec.test", detector)
    assert result.errors == []
    assert (result.dnssec.ds_present, result.dnssec.ad) == (True, False)
    assert [(mx.priority, mx.host) for mx in result.mx] == [(0, ".")]
    assert (result.email_gateway, result.mx_server_ips, result.ptr) == (None, [], {})
    # DMARC from the organizational domain dnssec.test.
    assert (result.dmarc, result.dmarc_policy_p, result.dmarc_policy_sp) == (
        "v=DMARC1; p=quarantine; sp=reject",
        "quarantine",
        "reject",
    )
    assert (result.spf, result.spf_dns_lookups, result.sending_services) == ("v=spf1 -all", 0, [])


def test_dkim_servfail_is_an_error_not_a_missing_key(detector: Detector) -> None:
    result = full_scan("partial.test", detector)
    assert result.dkim_selectors_found == []
    assert result.dkim_status is DkimStatus.ERROR
    assert checks(result) == sorted((f"dkim:{selector}", "servfail") for selector in selector_table())
    # Everything else was read.
    assert (result.email_gateway, result.spf_status, result.dmarc_status) == (
        "Microsoft 365",
        "valid",
        "valid",
    )


def test_servfail_everywhere_is_reported_as_errors_never_as_missing(detector: Detector) -> None:
    result = full_scan("servfail.test", detector)
    failed = dict(checks(result))
    expected = {"mx", "spf", "dmarc", "txt", "a", "aaaa", "ns", "soa", "caa", "dnssec_ds"}
    expected |= {"bimi", "mta_sts", "tls_rpt"} | {f"srv:{service}" for service in SRV_SERVICES}
    expected |= {f"dkim:{selector}" for selector in selector_table()}
    assert set(failed) == expected
    assert set(failed.values()) == {"servfail"}
    assert (result.spf_status, result.spf_valid, result.dmarc_status, result.dkim_status) == (
        "error",
        None,
        "error",
        DkimStatus.ERROR,
    )
    assert (result.dnssec.ds_present, result.dnssec.ad) == (None, None)


def test_timeouts_are_errors_and_bounded(silent_port: int, detector: Detector) -> None:
    async def go() -> ScanResult:
        session = DnsSession(
            silent_resolver(silent_port, timeout=0.3),
            max_queries=SCAN_MAX_QUERIES,
            max_concurrency=SCAN_MAX_CONCURRENCY,
        )
        return await scan_domain("acme.test", session=session, detector=detector)

    started = time.monotonic()
    result = run(go())
    elapsed = time.monotonic() - started
    # 12 + 6 + the DKIM selectors fit in two waves of the concurrency limit: about two timeouts long;
    # asked one by one they would take 80 x 0.3 s. The bound is loose for loaded machines.
    assert elapsed < 6, elapsed
    assert {outcome for _, outcome in checks(result)} == {"timeout"}
    assert ("mx", "timeout") in checks(result)
    assert (result.spf_status, result.dmarc_status, result.dkim_status) == (
        "error",
        "error",
        DkimStatus.ERROR,
    )
    assert result.mx == []


def test_budget_exhaustion_is_reported_per_check(detector: Detector) -> None:
    # 21 queries: the 12 roots (SOA probe included), the tree walk's _dmarc.test and 6 SRV, then the first
    # two DKIM selectors; every later question (the other selectors, MX host addresses, SPF includes) is
    # refused by the budget.
    async def go() -> ScanResult:
        return await scan_domain("acme.test", session=DnsSession(max_queries=21), detector=detector)

    result = run(go())
    assert result.queries_sent == 21
    assert [key.selector for key in result.dkim_selectors_found] == ["google", "selector1"]
    outcomes = dict(checks(result))
    assert outcomes["spf"] == "budget_exhausted"
    assert outcomes["mx_address:eu-smtp-inbound-1.mimecast.test"] == "budget_exhausted"
    assert outcomes["dkim:selector2"] == "budget_exhausted"
    assert "mx" not in outcomes
    assert (result.spf_status, result.spf_valid) == ("error", None)
    assert len(result.mx) == 2
    assert result.mx_server_ips == []


def test_sync_wrapper_and_invalid_domain(detector: Detector) -> None:
    assert scan("secure.dnssec.test", detector=detector).dnssec.ds_present is True
    with pytest.raises(ValueError, match="cannot scan"):
        scan("http://example.test/")


@pytest.mark.parametrize(
    ("domain", "p", "applied", "source", "policy_domain"),
    [
        ("sub.corp-a.test", "quarantine", "reject", "sp", "corp-a.test"),
        ("ghost.np.test", "none", "reject", "np", "np.test"),
        ("mail.eu.walk.test", "reject", "reject", "p", "eu.walk.test"),
        ("corp-a.test", "quarantine", "quarantine", "own_record", "corp-a.test"),
    ],
)
def test_the_scan_records_the_applied_dmarc_policy_beside_the_records_p(
    detector: Detector, domain: str, p: str, applied: str, source: str, policy_domain: str
) -> None:
    async def go() -> tuple[ScanResult, list[tuple[str, str]]]:
        session, recorder = recording_session(max_queries=SCAN_MAX_QUERIES)
        return await scan_domain(domain, session=session, detector=detector), recorder.calls

    result, calls = run(go())
    assert (result.dmarc_policy_p, result.dmarc_policy_applied) == (p, applied)
    assert (result.dmarc_policy_source, result.dmarc_policy_domain) == (source, policy_domain)
    # The existence question np needs is the scan's own A query: nothing is asked twice.
    assert len(calls) == len(set(calls))
