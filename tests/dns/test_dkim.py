"""DKIM key records, key sizes and the selector list. The keys are those of tests/dns/zones/acme.test.zone."""

from __future__ import annotations

import base64
import json
from importlib import resources

import pytest

from dmarcwatch.dns import dkim
from dmarcwatch.dns.dkim import (
    MAX_EXTRA_SELECTORS,
    check_dkim,
    key_bits,
    normalize_selector,
    parse_dkim_record,
    rsa_bits_from_der,
    selector_table,
    selectors_to_check,
)
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.result import DkimStatus
from tests.dns.conftest import run

RSA_1024 = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDNMf6mSmSHhy6DcysQi3lvtmSo+Tfl0nmFIi7q3V9IqAXx6tPFCCdcmJ2y6k6XnTuJ"
    "pY296exYRrNxBxuohQPjRp+Q6hVkbtCCh6IYPKbLGLsIt4Ee5mNnQ4pSwrWRVu319049lwSQ1H5A/82RWimmft9yCzX3DntJLYkSRifp"
    "PQIDAQAB"
)
RSA_2048 = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1Qh+p8EFEYpi3K8Fz9U19EPTEMoXQS6nvT+dIkIAGxCWEEzaRUZeJxdCa0Hp"
    "qB0tIkU0yFY4E8nH21eOgqxstZozbgPJJ/bbM9paQFvFt/JDQTtkHR7sk9cuemOR923Vh5kPdhlbnLHRIVfkNycsGSZmzUfbahL6y11T"
    "e7KOQDp5WcTHJ/VY9dEKDZlZ6SGkpQR9BYPYixJpKHIeGoOTyrtp02QXdt9zG++nPvZ22A8zcXMoyIuej+gxVSUnB5uJ4G/NJGS72bGN"
    "DoO9p+N6sfmsaWpLMoLwfux2ljf98TJ68hFR7zC31MTGziRpWMmLQ7O8ckT/c9QCCT4jghQ9pQIDAQAB"
)
ED25519 = "xlLsr0+ZivCp83STdiAGOsXqPXa5vZU+ysMUqMTnNqs="


def test_rsa_record_defaults() -> None:
    key = parse_dkim_record("google", f"v=DKIM1; p={RSA_2048}")
    assert key is not None
    assert (key.selector, key.key_type, key.key_bits, key.testing, key.revoked, key.vendor) == (
        "google",
        "rsa",
        2048,
        False,
        False,
        "Google Workspace",
    )


def test_testing_flag_and_whitespace_in_key() -> None:
    # t= is a colon-separated flag list; a p= folded with spaces is still one key.
    spaced = " ".join(RSA_1024[i : i + 40] for i in range(0, len(RSA_1024), 40))
    key = parse_dkim_record("selector1", f"v=DKIM1; k=rsa; t=s:y; p={spaced}")
    assert key is not None
    assert (key.key_bits, key.testing, key.vendor) == (1024, True, "Microsoft 365")


def test_revoked_key() -> None:
    key = parse_dkim_record("s1", "v=DKIM1; p=")
    assert key is not None
    assert (key.revoked, key.key_bits, key.key_type, key.vendor) == (True, None, "rsa", "SendGrid")


def test_ed25519_key_is_256_bits() -> None:
    key = parse_dkim_record("k1", f"v=DKIM1; k=ed25519; p={ED25519}")
    assert key is not None
    assert (key.key_type, key.key_bits) == ("ed25519", 256)
    assert key_bits("ed25519", base64.b64encode(b"x" * 31).decode()) is None


def test_not_a_key_record() -> None:
    assert parse_dkim_record("mail", "this is not a key") is None
    assert parse_dkim_record("mail", "v=spf1 -all") is None
    assert parse_dkim_record("mail", "v=DKIM2; p=" + RSA_1024) is None
    # No v= is allowed (RFC 6376 §3.6.1: v= is recommended, not required).
    no_version = parse_dkim_record("custom", "k=rsa; p=" + RSA_1024)
    assert no_version is not None
    assert no_version.vendor is None


def test_undecodable_or_unknown_keys_have_no_size() -> None:
    # corp-a.test's google key is cut short: not valid base64.
    assert key_bits("rsa", RSA_1024[:-7]) is None
    # Valid base64 but not a key.
    assert key_bits("rsa", base64.b64encode(b"not a key").decode()) is None
    assert key_bits("dsa", RSA_1024) is None


@pytest.mark.parametrize(("p", "bits"), [(RSA_1024, 1024), (RSA_2048, 2048)])
def test_der_reader_matches_cryptography(p: str, bits: int) -> None:
    der = base64.b64decode(p)
    assert rsa_bits_from_der(der) == bits
    assert key_bits("rsa", p) == bits


def test_der_reader_edge_cases() -> None:
    der = base64.b64decode(RSA_2048)
    # Bare PKCS#1 RSAPublicKey: the BIT STRING content of the SubjectPublicKeyInfo (after 24 octets of
    # header: SEQUENCE(4), AlgorithmIdentifier(15), BIT STRING header(4) and its unused-bits octet(1)).
    assert rsa_bits_from_der(der[24:]) == 2048
    assert rsa_bits_from_der(der[:100]) is None
    assert rsa_bits_from_der(b"") is None
    assert rsa_bits_from_der(b"\x04\x02ab") is None


def test_without_cryptography_the_der_reader_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dkim.HAVE_CRYPTOGRAPHY  # installed in the dev environment
    monkeypatch.setattr(dkim, "HAVE_CRYPTOGRAPHY", False)
    assert key_bits("rsa", RSA_1024) == 1024
    assert key_bits("rsa", RSA_2048) == 2048


def test_selector_normalisation() -> None:
    assert normalize_selector(" Google ") == "google"
    assert normalize_selector("s1.sub") == "s1.sub"
    assert normalize_selector("20230601_abc") == "20230601_abc"
    for bad in ("", "bad sel", "a..b", "-lead", "x" * 64, "é"):
        assert normalize_selector(bad) is None, bad


def test_selectors_to_check_adds_valid_unique_extras_up_to_the_cap() -> None:
    common = list(selector_table())
    names = selectors_to_check(["GOOGLE", "acme2024", "acme2024", "bad sel!", "other"])
    assert names == [*common, "acme2024", "other"]
    many = selectors_to_check(f"extra{i}" for i in range(MAX_EXTRA_SELECTORS + 10))
    assert len(many) == len(common) + MAX_EXTRA_SELECTORS


def test_selector_data_file() -> None:
    text = resources.files("dmarcwatch.data").joinpath("dkim_selectors.json").read_text(encoding="utf-8")
    entries = json.loads(text)["selectors"]
    names = [entry["selector"] for entry in entries]
    assert len(names) == len(set(names))
    assert all(normalize_selector(name) == name for name in names)
    table = selector_table()
    for selector, vendor in {
        "google": "Google Workspace",
        "selector1": "Microsoft 365",
        "selector2": "Microsoft 365",
        "protonmail": "Proton Mail",
        "fm1": "Fastmail",
        "mesmtp": "Fastmail",
        "zoho": "Zoho Mail",
        "everlytickey1": "Everlytic",
        "default": None,
    }.items():
        assert table[selector] == vendor, selector


@pytest.mark.usefixtures("dns_server")
def test_all_selectors_asked_at_once_against_the_fixture() -> None:
    scan = run(check_dkim(DnsSession(max_concurrency=100), "acme.test", ["acme2024"]))
    assert [(k.selector, k.key_type, k.key_bits, k.testing, k.revoked) for k in scan.found] == [
        ("google", "rsa", 2048, False, False),
        ("selector1", "rsa", 1024, True, False),
        ("k1", "ed25519", 256, False, False),
        ("s1", "rsa", None, False, True),
        ("acme2024", "rsa", 3072, False, False),
    ]
    assert scan.checked[-1] == "acme2024"
    assert scan.failures == []
    assert scan.status is DkimStatus.FOUND


def test_status_precedence() -> None:
    revoked = parse_dkim_record("s1", "v=DKIM1; p=")
    assert revoked is not None
    assert dkim.DkimScan(found=[revoked]).status is DkimStatus.REVOKED
    assert dkim.DkimScan().status is DkimStatus.NOT_FOUND
    failed = DnsResult("google._domainkey.x.test", "TXT", Outcome.SERVFAIL)
    assert dkim.DkimScan(failures=[("google", failed)]).status is DkimStatus.ERROR
    # A key found outweighs failures elsewhere: the domain does sign.
    assert dkim.DkimScan(found=[revoked], failures=[("google", failed)]).status is DkimStatus.REVOKED
