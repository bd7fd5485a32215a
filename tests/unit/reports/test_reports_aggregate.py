"""Aggregate XML: the variants real reporters send are normalised; wrong data is refused with its field."""

from __future__ import annotations

from datetime import UTC, datetime

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
    ReasonCode,
    ReportError,
    SpfResult,
    SpfScope,
    parse_aggregate_xml,
)

from . import factory


def parse(data: bytes) -> AggregateReport:
    return parse_aggregate_xml([data])


def one_record(row: str = "", identifiers: str = "", auth: str = "") -> bytes:
    row = row or (
        "<source_ip>192.0.2.1</source_ip><count>3</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
    )
    identifiers = identifiers or "<header_from>example.com</header_from>"
    record = f"<record><row>{row}</row><identifiers>{identifiers}</identifiers>"
    return factory.report(body=factory.metadata() + record + f"<auth_results>{auth}</auth_results></record>")


def evaluated(disposition: str = "none", dkim: str = "pass", spf: str = "fail", extra: str = "") -> str:
    return (
        "<source_ip>192.0.2.1</source_ip><count>3</count><policy_evaluated>"
        f"<disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf>{extra}</policy_evaluated>"
    )


def test_a_plain_report() -> None:
    report = parse(factory.report(3))
    assert report.metadata.org_name == "receiver.example"
    assert report.metadata.date_range.begin == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert report.policy_published.p is DmarcPolicy.NONE
    assert len(report.records) == 3
    assert report.message_count == 1 + 2 + 3
    first = report.records[0]
    assert first.source_ip == "10.0.0.0"
    assert first.policy_dkim is DmarcVerdict.PASS
    assert first.dmarc_pass is True
    assert first.dkim_results[0].selector == "s0"
    assert first.spf_results[0].scope is SpfScope.MFROM


@pytest.mark.parametrize(
    ("raw", "expected", "kept"),
    [
        ("Pass", SpfResult.PASS, None),
        ("PASS", SpfResult.PASS, None),
        (" pass ", SpfResult.PASS, None),
        ("hardfail", SpfResult.FAIL, "hardfail"),
        ("SoftFail", SpfResult.SOFTFAIL, None),
        ("neutral", SpfResult.NEUTRAL, None),
        ("none", SpfResult.NONE, None),
        ("temp_error", SpfResult.TEMPERROR, "temp_error"),
        ("TempError", SpfResult.TEMPERROR, None),
        ("perm-error", SpfResult.PERMERROR, "perm-error"),
        ("weird-value", SpfResult.UNKNOWN, "weird-value"),
        ("", SpfResult.UNKNOWN, ""),
    ],
)
def test_spf_results_are_normalised(raw: str, expected: SpfResult, kept: str | None) -> None:
    record = parse(one_record(auth=f"<spf><domain>example.com</domain><result>{raw}</result></spf>")).records[
        0
    ]
    assert record.spf_results[0].result is expected
    assert record.spf_results[0].result_raw == kept


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pass", DkimResult.PASS),
        ("hardfail", DkimResult.FAIL),
        ("policy", DkimResult.POLICY),
        ("x", DkimResult.UNKNOWN),
    ],
)
def test_dkim_results_are_normalised(raw: str, expected: DkimResult) -> None:
    auth = f"<dkim><domain>Example.COM.</domain><selector>s1</selector><result>{raw}</result></dkim>"
    result = parse(one_record(auth=auth)).records[0].dkim_results[0]
    assert result.result is expected
    assert result.domain == "example.com"


@pytest.mark.parametrize(
    ("disposition", "expected", "kept"),
    [
        ("none", Disposition.NONE, None),
        ("Quarantine", Disposition.QUARANTINE, None),
        ("REJECT", Disposition.REJECT, None),
        ("pass", Disposition.NONE, "pass"),
        ("unheard-of", Disposition.UNKNOWN, "unheard-of"),
    ],
)
def test_dispositions(disposition: str, expected: Disposition, kept: str | None) -> None:
    record = parse(one_record(row=evaluated(disposition=disposition))).records[0]
    assert record.disposition is expected
    assert record.disposition_raw == kept


@pytest.mark.parametrize(
    ("dkim", "spf", "passes"),
    [("pass", "fail", True), ("fail", "Pass", True), ("fail", "fail", False), ("fail", "none", False)],
)
def test_dmarc_pass_is_either_aligned_verdict(dkim: str, spf: str, passes: bool) -> None:
    assert parse(one_record(row=evaluated(dkim=dkim, spf=spf))).records[0].dmarc_pass is passes


def test_reasons() -> None:
    extra = (
        "<reason><type>Local_Policy</type><comment>relay</comment></reason>"
        "<reason><type>sampled-out</type></reason><reason><type/><comment/></reason>"
    )
    reasons = parse(one_record(row=evaluated(extra=extra))).records[0].reasons
    assert [(reason.type, reason.comment, reason.type_raw) for reason in reasons] == [
        (OverrideReason.LOCAL_POLICY, "relay", None),
        (OverrideReason.SAMPLED_OUT, None, None),  # spelling differences (case, - for _) are not kept
    ]


def test_report_id_angle_brackets_are_stripped() -> None:
    report = parse(factory.report(body=factory.metadata(report_id="&lt;abc@x&gt;")))
    assert report.metadata.report_id == "abc@x"


def test_byte_order_mark_no_declaration_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + factory.report(2, head="").replace(b"\n", b"\r\n")
    report = parse(data)
    assert len(report.records) == 2
    assert report.metadata.report_id == "report-1"


def test_whitespace_before_the_declaration() -> None:
    assert len(parse(b"\r\n  " + factory.report(1)).records) == 1


def test_nul_padding_after_the_report_is_ignored_but_not_inside_it() -> None:
    assert len(parse(factory.report(2) + bytes(300_000)).records) == 2
    with pytest.raises(ReportError) as raised:
        parse(factory.report(2).replace(b"<record>", b"\x00<record>", 1))
    assert raised.value.code is ReasonCode.XML_MALFORMED


def test_namespaced_dmarcbis_report_ignoring_foreign_namespaces() -> None:
    body = factory.metadata() + factory.record(1).replace(
        "</record>", "<v:count xmlns:v='urn:vendor'>999</v:count></record>"
    )
    report = parse(factory.report(body=body, namespace="urn:ietf:params:xml:ns:dmarc-2.0"))
    assert report.records[0].count == 1


def test_dmarcbis_fields() -> None:
    policy = (
        "<policy_published><domain>example.org</domain><discovery_method>treewalk</discovery_method>"
        "<p>quarantine</p><sp>reject</sp><np>none</np><adkim>s</adkim><testing>y</testing></policy_published>"
    )
    metadata = factory.metadata().split("<policy_published>")[0]
    report = parse(factory.report(body=metadata + policy, namespace="urn:ietf:params:xml:ns:dmarc-2.0"))
    published = report.policy_published
    assert published.discovery_method is DiscoveryMethod.TREEWALK
    assert (published.p, published.sp, published.np) == (
        DmarcPolicy.QUARANTINE,
        DmarcPolicy.REJECT,
        DmarcPolicy.NONE,
    )
    assert published.adkim is Alignment.STRICT
    assert published.aspf is Alignment.RELAXED  # the default
    assert published.pct == 100  # RFC 9990 has no pct: every message
    assert published.testing is True


def test_missing_pct_and_empty_sp() -> None:
    metadata = factory.metadata().split("<policy_published>")[0]
    policy = "<policy_published><domain>example.com</domain><p>reject</p><sp></sp></policy_published>"
    published = parse(factory.report(body=metadata + policy)).policy_published
    assert published.pct == 100
    assert published.sp is None


def test_unknown_policy_keeps_its_raw_value() -> None:
    metadata = factory.metadata().split("<policy_published>")[0]
    policy = "<policy_published><domain>example.com</domain><p>experimental</p></policy_published>"
    published = parse(factory.report(body=metadata + policy)).policy_published
    assert published.p is DmarcPolicy.UNKNOWN
    assert published.raw_values == {"p": "experimental"}


def test_zero_records_is_a_valid_report() -> None:
    report = parse(factory.report(body=factory.metadata()))
    assert report.records == []
    assert report.message_count == 0


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [("windows-1252", "cp1252"), ("ISO-8859-1", "latin-1"), ("UTF-16", "utf-16"), ("Shift_JIS", "shift_jis")],
)
def test_declared_encodings(encoding: str, codec: str) -> None:
    org = "Réception" if codec != "shift_jis" else "受信者"
    document = factory.report(1, head=f'<?xml version="1.0" encoding="{encoding}"?>\n').decode()
    document = document.replace("receiver.example</org_name>", f"{org}</org_name>")
    assert parse(document.encode(codec)).metadata.org_name == org


def test_ipv6_sources_are_canonical() -> None:
    row = evaluated().replace("192.0.2.1", "2001:DB8:0:0::1")
    assert parse(one_record(row=row)).records[0].source_ip == "2001:db8::1"


def test_empty_org_name_is_named_after_the_email_domain() -> None:
    report = parse(factory.report(body=factory.metadata(org_name="")))
    assert report.metadata.org_name == "receiver.example"


def test_extra_elements_and_trailing_nul_padding_are_ignored() -> None:
    data = (
        factory.report(2).replace(b"</feedback>", b"<extension><x>1</x></extension></feedback>")
        + b"\x00" * 300
    )
    assert len(parse(data).records) == 2


def test_junk_after_the_report_is_ignored() -> None:
    assert len(parse(factory.report(2) + b"<feedback>another</feedback>").records) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("<report_id>report-1</report_id>", ""), "report_metadata.report_id"),
        (("<report_id>report-1</report_id>", "<report_id> </report_id>"), "report_metadata.report_id"),
        (("<begin>1700000000</begin>", "<begin>yesterday</begin>"), "report_metadata.date_range.begin"),
        (("<begin>1700000000</begin>", "<begin>1800000000</begin>"), "report_metadata.date_range"),
        (("<count>1</count>", "<count>1.5</count>"), "records[0].row.count"),
        (("<count>1</count>", "<count>-1</count>"), "records[0].row.count"),
        (("<count>1</count>", "<count>1</count><count>2</count>"), "records[0].row.count"),
        (
            ("<source_ip>10.0.0.0</source_ip>", "<source_ip>10.0.0.256</source_ip>"),
            "records[0].row.source_ip",
        ),
        (
            ("<source_ip>10.0.0.0</source_ip>", "<source_ip>mail.example</source_ip>"),
            "records[0].row.source_ip",
        ),
        (("<domain>example.com</domain><adkim>", "<adkim>"), "policy_published.domain"),
        (("<source_ip>10.0.0.0</source_ip>", ""), "records[0].row.source_ip"),
        (("<count>1</count>", "<count>1.000</count>"), "records[0].row.count"),  # a thousand, or one?
        (("<count>1</count>", "<count>12,34</count>"), "records[0].row.count"),
        (("<end>1700086399</end>", "<end>soon</end>"), "report_metadata.date_range.end"),
        (("</row>", "</row><row/>"), "records[0].row"),
    ],
)
def test_wrong_data_is_refused_with_its_field(change: tuple[str, str], field: str) -> None:
    body = factory.metadata() + factory.record(0)
    old, new = change
    assert old in body
    with pytest.raises(ReportError) as raised:
        parse(factory.report(body=body.replace(old, new, 1)))
    assert raised.value.code is ReasonCode.INVALID_REPORT
    assert raised.value.field == field


def test_a_report_without_metadata_is_invalid() -> None:
    with pytest.raises(ReportError) as raised:
        parse(factory.report(body=factory.record(0)))
    assert raised.value.field == "report_metadata"


def test_a_bad_record_late_in_the_report_rejects_it_whole() -> None:
    bad = factory.record(499, count=1).replace("<count>1</count>", "<count>many</count>")
    body = factory.metadata() + "".join(factory.record(index) for index in range(499)) + bad
    with pytest.raises(ReportError) as raised:
        parse(factory.report(body=body))
    assert raised.value.field == "records[499].row.count"


def test_a_non_report_xml_is_not_a_report() -> None:
    with pytest.raises(ReportError) as raised:
        parse(b"<html><body>hello</body></html>")
    assert raised.value.code is ReasonCode.NOT_A_REPORT


def test_round_trip_through_json() -> None:
    report = parse(factory.report(3))
    again = AggregateReport.model_validate_json(report.model_dump_json())
    assert again.records == report.records
    assert again.message_count == report.message_count
