"""Change detection between two scans: only what both scans observed is compared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dmarcwatch.dns.detect import default_detector
from dmarcwatch.dns.diff import Change, canonical, diff_results
from dmarcwatch.dns.result import (
    BimiInfo,
    CaaEntry,
    DkimSelector,
    DnssecInfo,
    MxEntry,
    ScanError,
    ScanResult,
    SrvEntry,
)
from dmarcwatch.dns.scan import scan_domain
from tests.dns.conftest import run

KEY = DkimSelector(selector="google", record="v=DKIM1; p=AAAA", key_type="rsa", key_bits=2048)
OLD_KEY = DkimSelector(selector="s1", record="v=DKIM1; p=", key_type="rsa", revoked=True, vendor="SendGrid")


def baseline() -> ScanResult:
    return ScanResult(
        domain="example.test",
        scanned_at=datetime(2024, 6, 1, tzinfo=UTC),
        mx=[MxEntry(priority=10, host="mx1.example.test"), MxEntry(priority=20, host="mx2.example.test")],
        mx_server_ips=["192.0.2.1", "192.0.2.2"],
        email_gateway="Mimecast",
        spf="v=spf1 include:_spf.google.test -all",
        spf_status="valid",
        sending_services=["Google Workspace"],
        dmarc="v=DMARC1; p=none; rua=mailto:d@example.test",
        dmarc_policy_p="none",
        dmarc_rua=["mailto:d@example.test"],
        a=["192.0.2.10", "192.0.2.11"],
        ns=["ns1.example.test", "ns2.example.test"],
        caa=[CaaEntry(flags=0, tag="issue", value="letsencrypt.org")],
        srv=[SrvEntry(service="_imaps._tcp", priority=0, weight=1, port=993, target="imap.example.test")],
        bimi=BimiInfo(record="v=BIMI1; l=https://example.test/l.svg", logo_url="https://example.test/l.svg"),
        dnssec=DnssecInfo(ds_present=False, ad=False),
        dkim_selectors_found=[KEY, OLD_KEY],
        dkim_selectors_checked=["google", "selector1", "s1"],
        tech_in_dns=["Google"],
    )


def error(check: str, outcome: str = "servfail") -> ScanError:
    return ScanError(check=check, outcome=outcome, message=f"{check} failed")


def test_identical_scans_have_no_changes() -> None:
    assert diff_results(baseline(), baseline()) == []


def test_order_of_set_like_lists_and_scan_metadata_do_not_matter() -> None:
    new = baseline().model_copy(
        update={
            "a": ["192.0.2.11", "192.0.2.10"],
            "ns": ["ns2.example.test", "ns1.example.test"],
            "mx": [
                MxEntry(priority=20, host="mx2.example.test"),
                MxEntry(priority=10, host="mx1.example.test"),
            ],
            "scanned_at": datetime(2024, 6, 2, tzinfo=UTC),
            "queries_sent": 99,
            "duration_ms": 12.5,
            # SOA serials and PTR names are not tracked.
            "ptr": {"192.0.2.1": "mx1.example.test"},
        }
    )
    assert diff_results(baseline(), new) == []


def test_changes_are_reported_with_stable_text() -> None:
    new = baseline().model_copy(
        update={
            "mx": [MxEntry(priority=10, host="aspmx.l.google.test")],
            "email_gateway": "Google Workspace",
            "dmarc": "v=DMARC1; p=reject; rua=mailto:d@example.test",
            "dmarc_policy_p": "reject",
            "a": [],
            "bimi": None,
            "dnssec": DnssecInfo(ds_present=True, ad=False),
        }
    )
    assert diff_results(baseline(), new) == [
        Change(
            field="mx",
            old='[{"host":"mx1.example.test","priority":10},{"host":"mx2.example.test","priority":20}]',
            new='[{"host":"aspmx.l.google.test","priority":10}]',
        ),
        Change(field="email_gateway", old="Mimecast", new="Google Workspace"),
        Change(
            field="dmarc",
            old="v=DMARC1; p=none; rua=mailto:d@example.test",
            new="v=DMARC1; p=reject; rua=mailto:d@example.test",
        ),
        Change(field="dmarc_policy_p", old="none", new="reject"),
        Change(
            field="bimi",
            old='{"authority":null,"logo_url":"https://example.test/l.svg",'
            '"record":"v=BIMI1; l=https://example.test/l.svg"}',
            new=None,
        ),
        Change(field="a", old='["192.0.2.10","192.0.2.11"]', new=None),
        Change(field="dnssec_ds_present", old="false", new="true"),
    ]


def test_a_check_that_failed_now_is_not_a_removal() -> None:
    new = baseline().model_copy(
        update={
            "mx": [],
            "mx_server_ips": [],
            "email_gateway": None,
            "dmarc": None,
            "dmarc_policy_p": None,
            "dmarc_rua": [],
            "srv": [],
            "dnssec": DnssecInfo(),
            "errors": [error("mx"), error("dmarc", "timeout"), error("srv:_imaps._tcp"), error("dnssec_ds")],
        }
    )
    assert diff_results(baseline(), new) == []


def test_a_check_that_failed_last_time_is_not_an_addition() -> None:
    old = baseline().model_copy(
        update={
            "spf": None,
            "spf_status": "error",
            "sending_services": [],
            "errors": [error("txt"), error("spf")],
        }
    )
    assert diff_results(old, baseline()) == []


def test_spf_include_failure_blocks_derived_fields_only() -> None:
    # The top record was read (TXT fine) but an include failed: the record compares, services do not.
    new = baseline().model_copy(
        update={
            "spf": "v=spf1 include:_spf.google.test include:sendgrid.test -all",
            "spf_status": "error",
            "sending_services": ["Google Workspace"],
            "errors": [error("spf", "timeout")],
        }
    )
    assert diff_results(baseline(), new) == [
        Change(
            field="spf",
            old="v=spf1 include:_spf.google.test -all",
            new="v=spf1 include:_spf.google.test include:sendgrid.test -all",
        )
    ]


def test_mx_address_failure_blocks_server_ips() -> None:
    new = baseline().model_copy(
        update={"mx_server_ips": ["192.0.2.1"], "errors": [error("mx_address:mx2.example.test", "timeout")]}
    )
    assert diff_results(baseline(), new) == []
    moved = baseline().model_copy(update={"mx_server_ips": ["192.0.2.1", "192.0.2.3"]})
    assert diff_results(baseline(), moved) == [
        Change(field="mx_server_ips", old='["192.0.2.1","192.0.2.2"]', new='["192.0.2.1","192.0.2.3"]')
    ]


FLAGS = '"revoked":false,"testing":false}'


def test_dkim_is_compared_per_selector_over_selectors_both_scans_asked() -> None:
    rotated = KEY.model_copy(update={"record": "v=DKIM1; p=BBBB"})
    added = DkimSelector(selector="selector1", record="v=DKIM1; p=CCCC", key_type="rsa", key_bits=1024)
    # "fromreports" was not asked last time: finding it now is not a change.
    reported = DkimSelector(selector="fromreports", record="v=DKIM1; p=DDDD", key_type="rsa", key_bits=2048)
    new = baseline().model_copy(
        update={
            "dkim_selectors_found": [rotated, added, reported],
            "dkim_selectors_checked": ["google", "selector1", "s1", "fromreports"],
        }
    )
    assert diff_results(baseline(), new) == [
        Change(
            field="dkim:google",
            old='{"key_bits":2048,"key_type":"rsa","record":"v=DKIM1; p=AAAA",' + FLAGS,
            new='{"key_bits":2048,"key_type":"rsa","record":"v=DKIM1; p=BBBB",' + FLAGS,
        ),
        Change(
            field="dkim:s1",
            old='{"key_bits":null,"key_type":"rsa","record":"v=DKIM1; p=","revoked":true,"testing":false}',
            new=None,
        ),
        Change(
            field="dkim:selector1",
            old=None,
            new='{"key_bits":1024,"key_type":"rsa","record":"v=DKIM1; p=CCCC",' + FLAGS,
        ),
    ]


def test_a_failed_dkim_selector_is_skipped() -> None:
    new = baseline().model_copy(update={"dkim_selectors_found": [KEY], "errors": [error("dkim:s1")]})
    assert diff_results(baseline(), new) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ([], None),
        ({}, None),
        ("x", "x"),
        (False, "false"),
        (50, "50"),
        (["b", "a"], '["a","b"]'),
    ],
)
def test_canonical_text(value: object, text: str | None) -> None:
    assert canonical(value) == text


@pytest.mark.usefixtures("dns_server")
def test_rescanning_an_unchanged_zone_yields_no_changes() -> None:
    detector = default_detector().retargeted("test")
    first = run(scan_domain("acme.test", extra_dkim_selectors=["acme2024"], detector=detector))
    second = run(scan_domain("acme.test", extra_dkim_selectors=["acme2024"], detector=detector))
    assert first.errors == []
    assert diff_results(first, second) == []


@pytest.mark.usefixtures("dns_server")
def test_dkim_servfail_is_not_reported_as_removed_keys() -> None:
    # partial.test's DKIM zone is broken: every selector answers SERVFAIL.
    detector = default_detector().retargeted("test")
    now = run(scan_domain("partial.test", detector=detector))
    assert now.dkim_selectors_found == []
    before = now.model_copy(
        update={
            "dkim_selectors_found": [KEY.model_copy(update={"selector": "selector1"})],
            "errors": [],
        }
    )
    assert diff_results(before, now) == []
