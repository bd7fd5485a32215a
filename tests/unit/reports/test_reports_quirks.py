"""Reporter quirks: each fixture in `quirks/` departs from RFC 7489 / RFC 9990 the way a real reporter does.

Each test asserts what the report was read as, and the note the parser left in `metadata.errors`. A quirk
that either RFC allows (optional parts left out) parses without a note.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dmarcwatch.reports import (
    AggregateReport,
    Alignment,
    DiscoveryMethod,
    Disposition,
    DkimResult,
    DmarcPolicy,
    DmarcVerdict,
    OverrideReason,
    SpfResult,
    SpfScope,
    extract_reports,
)

QUIRKS = Path(__file__).parent / "quirks"
BEGIN = datetime.fromtimestamp(1700000000, UTC)
END = datetime.fromtimestamp(1700086399, UTC)


def read(name: str) -> AggregateReport:
    result = extract_reports((QUIRKS / f"{name}.xml").read_bytes())
    assert result.quarantine is None, result.quarantine
    (report,) = result.reports
    assert isinstance(report, AggregateReport)
    assert report.metadata.report_id.startswith(f"quirk-{name}")
    return report


def plain(report: AggregateReport, count: int = 3) -> None:
    """The fixture's one record, read as if it had been written by the book."""
    (record,) = report.records
    assert (record.source_ip, record.count, record.header_from) == ("192.0.2.1", count, "example.com")
    assert (record.disposition, record.policy_dkim, record.policy_spf) == (
        Disposition.NONE,
        DmarcVerdict.PASS,
        DmarcVerdict.FAIL,
    )
    assert [(d.domain, d.selector, d.result) for d in record.dkim_results] == [
        ("example.com", "s1", DkimResult.PASS)
    ]
    assert [(s.domain, s.scope, s.result) for s in record.spf_results] == [
        ("bounce.example.com", SpfScope.MFROM, SpfResult.FAIL)
    ]


def test_every_fixture_has_a_test() -> None:
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert {path.stem for path in QUIRKS.glob("*.xml")} <= tested


# -- element names and structure


def test_element_case() -> None:
    report = read("element_case")
    plain(report)
    assert report.metadata.errors == [
        "element <Feedback> read as <feedback>",
        "element <Record> read as <record>",
        "element <Row> read as <row>",
        "element <Source_IP> read as <source_ip>",
    ]


def test_element_spelling() -> None:
    report = read("element_spelling")
    plain(report)
    assert report.metadata.errors == [
        "element <SourceIP> read as <source_ip>",
        "element <policy-evaluated> read as <policy_evaluated>",
        "element <HeaderFrom> read as <header_from>",
    ]


def test_identities() -> None:
    report = read("identities")
    plain(report)
    assert report.metadata.errors == ["element <identities> read as <identifiers>"]


def test_misplaced_parts() -> None:
    report = read("misplaced_parts")
    plain(report)
    assert report.metadata.errors == [
        "record 1: <identifiers> found inside <row>",
        "record 1: <auth_results> found inside <row>",
    ]


def test_policy_evaluated_in_record() -> None:
    report = read("policy_evaluated_in_record")
    plain(report)
    assert report.metadata.errors == ["record 1: <policy_evaluated> found inside <record>"]


def test_record_without_row() -> None:
    report = read("record_without_row")
    plain(report)
    assert report.metadata.errors == ["record 1: no <row>; its fields read from <record>"]


def test_wrapped_in_root() -> None:
    report = read("wrapped_in_root")
    plain(report)
    assert report.metadata.errors == ["<feedback> read from inside <root>"]


def test_wrapped_after_sibling() -> None:
    report = read("wrapped_after_sibling")
    plain(report)
    assert report.metadata.errors == ["<feedback> read from inside <reports>"]


def test_renamed_root() -> None:
    report = read("renamed_root")
    plain(report)
    assert report.metadata.errors == ["root element <dmarc-report> read as <feedback>"]


def test_prefixed_namespace() -> None:
    report = read("prefixed_namespace")
    plain(report)  # <v:count>999</v:count> is a vendor's element, not the record's count
    assert report.metadata.errors == []


def test_repeated_policy() -> None:
    report = read("repeated_policy")
    plain(report)
    assert report.policy_published.p is DmarcPolicy.REJECT  # the first
    assert report.metadata.errors == ["<policy_published> repeated; the first one read"]


def test_optional_parts_missing() -> None:
    report = read("optional_parts_missing")
    assert report.metadata.email is None
    assert report.metadata.extra_contact_info is None
    published = report.policy_published
    assert (published.adkim, published.aspf, published.sp, published.pct, published.fo) == (
        Alignment.RELAXED,
        Alignment.RELAXED,
        None,
        100,
        None,
    )
    (record,) = report.records
    assert record.reasons == ()
    assert record.spf_results == ()
    assert [(d.domain, d.selector, d.result) for d in record.dkim_results] == [
        ("example.com", None, DkimResult.PASS)
    ]
    assert report.metadata.errors == []  # all of it optional in RFC 7489 or RFC 9990


def test_dmarcbis_fields() -> None:
    report = read("dmarcbis_fields")
    published = report.policy_published
    assert (published.np, published.testing, published.discovery_method) == (
        DmarcPolicy.REJECT,
        False,
        DiscoveryMethod.PSL,
    )
    assert published.pct == 100
    assert report.metadata.generator == "Receiver 2.0"
    assert report.metadata.errors == []


# -- values


def test_value_case() -> None:
    report = read("value_case")
    published = report.policy_published
    assert (published.p, published.sp, published.adkim) == (
        DmarcPolicy.REJECT,
        DmarcPolicy.QUARANTINE,
        Alignment.RELAXED,
    )
    assert published.raw_values == {}  # a case difference is not worth keeping
    (record,) = report.records
    assert (record.disposition, record.policy_dkim, record.policy_spf) == (
        Disposition.REJECT,
        DmarcVerdict.PASS,
        DmarcVerdict.FAIL,
    )
    assert (record.disposition_raw, record.policy_dkim_raw) == (None, None)
    assert record.dmarc_pass is True
    assert record.dkim_results[0].result is DkimResult.PASS
    assert record.spf_results[0].scope is SpfScope.MFROM
    assert report.metadata.errors == [
        "policy_published: p 'REJECT' normalised to 'reject'",
        "policy_published: adkim 'R' normalised to 'r'",
        "policy_published: sp 'Quarantine' normalised to 'quarantine'",
        "record 1: disposition 'Reject' normalised to 'reject'",
        "record 1: dkim 'PASS' normalised to 'pass'",
        "record 1: spf 'Fail' normalised to 'fail'",
        "record 1: DKIM result 'Pass' normalised to 'pass'",
        "record 1: SPF scope 'MFROM' normalised to 'mfrom'",
    ]


def test_disposition_pass() -> None:
    (record,) = (report := read("disposition_pass")).records
    assert (record.disposition, record.disposition_raw) == (Disposition.NONE, "pass")
    assert report.metadata.errors == ["record 1: disposition 'pass' read as 'none'"]


def test_reason_types() -> None:
    report = read("reason_types")
    (record,) = report.records
    assert [(reason.type, reason.type_raw, reason.comment) for reason in record.reasons] == [
        (OverrideReason.TRUSTED_FORWARDER, None, None),
        (OverrideReason.MAILING_LIST, None, None),
        (OverrideReason.UNKNOWN, "arc", "ARC chain from a forwarder"),
        (OverrideReason.OTHER, None, None),
    ]
    assert report.metadata.errors == [
        "record 1: reason type 'trusted-forwarder' normalised to 'trusted_forwarder'",
        "record 1: reason type 'Mailing List' normalised to 'mailing_list'",
        "record 1: reason type 'arc' is not a known value; kept as unknown",
        "record 1: reason type 'OTHER' normalised to 'other'",
    ]


def test_testing_odd() -> None:
    report = read("testing_odd")
    assert report.policy_published.testing is True
    assert report.metadata.errors == ["policy_published: testing 'Yes' read as 'y'"]


def test_fo_odd() -> None:
    report = read("fo_odd")
    assert report.policy_published.fo == "1:d"
    assert report.policy_published.raw_values == {"fo": "1, D"}
    assert report.metadata.errors == ["policy_published: fo '1, D' read as '1:d'"]


def test_pct_percent() -> None:
    report = read("pct_percent")
    assert report.policy_published.pct == 50
    assert report.metadata.errors == ["policy_published: pct '50%' read as 50"]


def test_pct_out_of_range() -> None:
    report = read("pct_out_of_range")
    assert report.policy_published.pct == 100
    assert report.policy_published.raw_values == {"pct": "150"}
    assert report.metadata.errors == ["policy_published: pct '150' is not a percentage; read as 100"]


def test_date_range_float() -> None:
    report = read("date_range_float")
    assert (report.metadata.date_range.begin, report.metadata.date_range.end) == (BEGIN, END)
    assert report.metadata.errors == [
        "date_range begin '1700000000.0' read as 1700000000 (its fraction of a second dropped)",
        "date_range end '1700086399.999' read as 1700086399 (its fraction of a second dropped)",
    ]


def test_date_range_milliseconds() -> None:
    report = read("date_range_milliseconds")
    assert (report.metadata.date_range.begin, report.metadata.date_range.end) == (BEGIN, END)
    assert report.metadata.errors == [
        "date_range begin '1700000000000' read as 1700000000 (milliseconds)",
        "date_range end '1700086399000' read as 1700086399 (milliseconds)",
    ]


def test_date_range_iso() -> None:
    report = read("date_range_iso")
    assert (report.metadata.date_range.begin, report.metadata.date_range.end) == (BEGIN, END)
    assert report.metadata.errors == [
        "date_range begin '2023-11-14T22:13:20Z' read as 1700000000 (an ISO 8601 date)",
        "date_range end '2023-11-15T22:13:19Z' read as 1700086399 (an ISO 8601 date)",
    ]


def test_report_id_brackets() -> None:
    report = read("report_id_brackets")
    assert report.metadata.report_id == "quirk-report_id_brackets@receiver.example"
    assert report.metadata.errors == [
        "report_id '<quirk-report_id_brackets@receiver.example>' read as "
        "'quirk-report_id_brackets@receiver.example'"
    ]


def test_org_name_missing() -> None:
    report = read("org_name_missing")
    assert report.metadata.org_name == "receiver.example"
    assert report.metadata.errors == ["org_name missing; named after the email domain 'receiver.example'"]


def test_count_thousands() -> None:
    report = read("count_thousands")
    plain(report, count=1234)
    assert report.message_count == 1234
    assert report.metadata.errors == ["record 1: count '1,234' read as 1234"]


def test_source_ip_forms() -> None:
    report = read("source_ip_forms")
    assert [record.source_ip for record in report.records] == [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "fe80::1",
    ]
    assert report.metadata.errors == [
        "record 1: source_ip '::ffff:192.0.2.1' read as '192.0.2.1'",
        "record 2: source_ip '[192.0.2.2]' read as '192.0.2.2'",
        "record 3: source_ip '192.000.002.003' read as '192.0.2.3'",
        "record 4: source_ip 'fe80::1%eth0' read as 'fe80::1'",
    ]


def test_header_from_missing() -> None:
    report = read("header_from_missing")
    (record,) = report.records
    assert record.header_from == "example.com"  # the policy domain
    assert record.envelope_from == "bounce.example.com"
    assert report.metadata.errors == ["record 1: no header_from; read as the policy domain"]


def test_header_from_before_policy() -> None:
    report = read("header_from_before_policy")
    plain(report)  # the policy domain, although the record came first
    assert report.metadata.errors == ["record 1: no header_from; read as the policy domain"]


def test_header_from_address() -> None:
    report = read("header_from_address")
    plain(report)
    assert report.metadata.errors == [
        "record 1: header_from 'alice@example.com' read as its domain 'example.com'"
    ]


def test_envelope_from_empty() -> None:
    report = read("envelope_from_empty")
    assert [record.envelope_from for record in report.records] == ["bounce.example.com", None]
    assert report.metadata.errors == ["record 1: envelope_from empty; read as the SPF mfrom domain"]


def test_envelope_from_left_out_is_read_from_the_mfrom_result_without_a_note() -> None:
    report = read("value_case")  # no <envelope_from>, and an SPF result scoped MFROM
    assert report.records[0].envelope_from == "bounce.example.com"


def test_spf_scope() -> None:
    report = read("spf_scope")
    (record,) = report.records
    assert [(s.domain, s.scope, s.scope_raw) for s in record.spf_results] == [
        ("example.com", None, None),  # left out: not said, so not guessed
        ("mx.example.com", SpfScope.HELO, None),
    ]
    assert record.envelope_from is None  # no mfrom result to take it from
    assert report.metadata.errors == ["record 1: SPF scope 'HELO' normalised to 'helo'"]


def test_dkim_human_result() -> None:
    report = read("dkim_human_result")
    (record,) = report.records
    assert record.dkim_results[0].human_result == "body hash did not verify"
    assert record.spf_results[0].human_result == "sender SPF authorized"
    assert report.metadata.errors == []


def test_auth_result_missing_result() -> None:
    report = read("auth_result_missing_result")
    (record,) = report.records
    assert [(d.domain, d.selector, d.result) for d in record.dkim_results] == [
        ("example.com", "s1", DkimResult.UNKNOWN)
    ]
    assert report.metadata.errors == [
        "record 1: DKIM result missing; read as unknown",
        "record 1: an empty <dkim> result dropped",
    ]


def test_policy_evaluated_incomplete() -> None:
    report = read("policy_evaluated_incomplete")
    first, second = report.records
    assert (first.disposition, first.policy_dkim, first.dmarc_pass) == (
        Disposition.UNKNOWN,
        DmarcVerdict.PASS,
        True,
    )
    assert (second.disposition, second.policy_dkim, second.policy_spf, second.dmarc_pass) == (
        Disposition.UNKNOWN,
        DmarcVerdict.UNKNOWN,
        DmarcVerdict.UNKNOWN,
        False,
    )
    assert report.message_count == 4
    assert report.metadata.errors == [
        "record 1: no <disposition> in <policy_evaluated>; read as unknown",
        "record 2: no <policy_evaluated>; disposition and verdicts unknown",
    ]


# -- bytes before the report


def test_bom_and_whitespace() -> None:
    report = read("bom_and_whitespace")
    plain(report)
    assert report.metadata.errors == ["whitespace before the XML declaration ignored"]


def test_encoding_mismatch() -> None:
    report = read("encoding_mismatch")
    plain(report)
    assert report.metadata.errors == ["declared encoding 'UTF-16', but the document is 8-bit; read as UTF-8"]


def test_declaration_after_comment() -> None:
    report = read("declaration_after_comment")
    plain(report)
    assert report.metadata.errors == ["XML declaration after a comment ignored"]


# -- the same quirk in many records is one note


def test_a_quirk_repeated_in_every_record_is_one_note() -> None:
    record = (QUIRKS / "disposition_pass.xml").read_text().split("<record>")[1].split("</record>")[0]
    document = (
        (QUIRKS / "disposition_pass.xml")
        .read_text()
        .replace(f"<record>{record}</record>", f"<record>{record}</record>" * 500)
    )
    report = extract_reports(document.encode()).reports[0]
    assert isinstance(report, AggregateReport)
    assert len(report.records) == 500
    assert report.metadata.errors == ["record 1: disposition 'pass' read as 'none' (and 499 more)"]


@pytest.mark.parametrize(
    ("declared", "note"),
    [
        ("ISO-8859-1", "declared encoding 'ISO-8859-1', but its byte order mark says UTF-8; read as UTF-8"),
        ("UTF-8", None),
    ],
)
def test_a_utf8_byte_order_mark_overrules_the_declaration(declared: str, note: str | None) -> None:
    document = (
        (QUIRKS / "element_case.xml")
        .read_text()
        .replace("receiver.example</org_name>", "Récepteur</org_name>")
    )
    data = b"\xef\xbb\xbf" + document.replace('encoding="UTF-8"', f'encoding="{declared}"').encode()
    report = extract_reports(data).reports[0]
    assert isinstance(report, AggregateReport)
    assert report.metadata.org_name == "Récepteur"
    assert (note in report.metadata.errors) if note else len(report.metadata.errors) == 4
