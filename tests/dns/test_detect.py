"""Provider detection from the packaged tables, with real provider names (no DNS)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from dmarcwatch.dns.detect import Detector, Rule, default_detector


@pytest.fixture
def detector() -> Detector:
    return default_detector()


@pytest.mark.parametrize(
    ("host", "gateway"),
    [
        ("aspmx.l.google.com", "Google Workspace"),
        ("alt1.aspmx.l.google.com.", "Google Workspace"),
        ("smtp.google.com", "Google Workspace"),
        ("example-com.mail.protection.outlook.com", "Microsoft 365"),
        ("example-com.l-v1.mx.microsoft", "Microsoft 365"),
        ("EU-SMTP-INBOUND-1.MIMECAST.COM", "Mimecast"),
        ("mx0a-001b2d01.pphosted.com", "Proofpoint"),
        ("d12345a.ess.barracudanetworks.com", "Barracuda"),
        ("mx1.hc1234-56.iphmx.com", "Cisco Secure Email (IronPort)"),
        ("mx.zoho.eu", "Zoho Mail"),
        ("in1-smtp.messagingengine.com", "Fastmail"),
        ("mta5.am0.yahoodns.net", "Yahoo"),
        ("mail.protonmail.ch", "Proton Mail"),
        ("inbound-smtp.eu-west-1.amazonaws.com", "Amazon SES / WorkMail"),
        ("example.in.tmes.trendmicro.eu", "Trend Micro"),
        ("mx-01-eu-west-1.prod.hydra.sophos.com", "Sophos"),
        ("cluster1.eu.messagelabs.com", "Broadcom Email Security.cloud (Symantec)"),
        ("cluster-a.mailcontrol.com", "Forcepoint"),
        ("mx01.hornetsecurity.com", "Hornetsecurity"),
        ("mx.spamexperts.com", "SpamExperts"),
    ],
)
def test_gateway_from_mx_host(detector: Detector, host: str, gateway: str) -> None:
    assert detector.email_gateway([host]) == gateway


def test_gateway_matches_whole_labels_only(detector: Detector) -> None:
    assert detector.email_gateway(["mx.notgoogle.com"]) is None
    assert detector.email_gateway(["google.com.evil.example"]) is None
    assert detector.email_gateway(["mail.example.com", "."]) is None
    assert detector.email_gateway([]) is None


def test_most_preferred_matching_host_wins(detector: Detector) -> None:
    # Hosts are given in MX preference order; an unknown primary does not hide a known backup.
    hosts = ["mx1.example.com", "eu-smtp-inbound-1.mimecast.com", "aspmx.l.google.com"]
    assert detector.email_gateway(hosts) == "Mimecast"


def test_longest_suffix_wins_whatever_the_order() -> None:
    custom = Detector(
        gateways=(
            Rule("Outlook family", ("outlook.com",)),
            Rule("Microsoft 365", ("mail.protection.outlook.com",)),
        )
    )
    assert custom.email_gateway(["x.mail.protection.outlook.com"]) == "Microsoft 365"
    assert custom.email_gateway(["x.olc.protection.outlook.com"]) == "Outlook family"


def test_sending_services_from_spf_targets(detector: Detector) -> None:
    targets = [
        "_spf.google.com",
        "_netblocks.google.com",
        "spf.protection.outlook.com",
        "sendgrid.net",
        "u1234.wl.sendgrid.net",
        "mailgun.org",
        "amazonses.com",
        "servers.mcsv.net",
        "spf.mandrillapp.com",
        "_spf.example.com",
    ]
    assert detector.sending_services_of(targets) == [
        "Amazon SES",
        "Google Workspace",
        "Mailchimp",
        "Mailchimp Transactional (Mandrill)",
        "Mailgun",
        "Microsoft 365",
        "SendGrid",
    ]


def test_tech_from_verification_tokens(detector: Detector) -> None:
    records = [
        "v=spf1 include:_spf.google.com ~all",
        "google-site-verification=abc",
        "ms=ms12345678",
        "facebook-domain-verification=x",
        "atlassian-domain-verification=x",
        "docusign=1234-5678",
        "apple-domain-verification=x",
        "adobe-idp-site-verification=x",
        "stripe-verification=x",
        "ZOOM_verify_abc",
        "globalsign-domain-verification=x",
        "MS=ms999",
        "an unrelated note",
    ]
    assert detector.tech_in_txt(records) == [
        "Adobe",
        "Apple",
        "Atlassian",
        "DocuSign",
        "Facebook",
        "GlobalSign",
        "Google",
        "Microsoft 365",
        "Stripe",
        "Zoom",
    ]


def test_retargeted_swaps_the_top_level_label_of_host_suffixes(detector: Detector) -> None:
    fixture = detector.retargeted("test")
    assert fixture.email_gateway(["aspmx.l.google.test"]) == "Google Workspace"
    assert fixture.email_gateway(["corp-b-test.mail.protection.outlook.test"]) == "Microsoft 365"
    assert fixture.email_gateway(["aspmx.l.google.com"]) is None
    assert fixture.sending_services_of(["_spf.google.test", "sendgrid.test"]) == [
        "Google Workspace",
        "SendGrid",
    ]
    # Verification tokens are not host names: unchanged.
    assert fixture.tech_in_txt(["MS=ms1"]) == ["Microsoft 365"]


def test_extended_rules_come_first(detector: Detector) -> None:
    extra = Detector(gateways=(Rule("In-house relay", ("google.com",)),))
    assert detector.extended(extra).email_gateway(["aspmx.l.google.com"]) == "In-house relay"
    assert detector.extended(extra).email_gateway(["mx.pphosted.com"]) == "Proofpoint"


@pytest.mark.parametrize(
    ("file", "key", "patterns"),
    [
        ("gateways.json", "gateways", "suffixes"),
        ("sending_services.json", "services", "suffixes"),
        ("txt_verifications.json", "verifications", "prefixes"),
    ],
)
def test_data_tables_are_well_formed(file: str, key: str, patterns: str) -> None:
    text = resources.files("dmarcwatch.data").joinpath(file).read_text(encoding="utf-8")
    entries = json.loads(text)[key]
    names = [entry["name"] for entry in entries]
    assert len(names) == len(set(names)), "duplicate provider names"
    seen: set[str] = set()
    for entry in entries:
        assert entry[patterns], entry["name"]
        for pattern in entry[patterns]:
            assert pattern.lower() not in seen, f"{pattern} appears twice"
            seen.add(pattern.lower())
            if patterns == "suffixes":
                assert pattern == pattern.lower().strip(". "), pattern
                assert "." in pattern, pattern
