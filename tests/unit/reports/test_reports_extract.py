"""extract_reports on mails and files: where reports hide, how archives are read, SMTP TLS reports."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from dmarcwatch.reports import (
    DEFAULT_LIMITS,
    AggregateReport,
    ReasonCode,
    TlsReport,
    extract_reports,
    mime,
    parse_tls_report,
)
from dmarcwatch.reports.errors import ReportError

from . import factory

TLS_REPORT = {
    "organization-name": "Company-X",
    "date-range": {"start-datetime": "2016-04-01T00:00:00Z", "end-datetime": "2016-04-01T23:59:59Z"},
    "contact-info": "sts-reporting@company-x.example",
    "report-id": "5065427c-23d3",
    "policies": [
        {
            "policy": {
                "policy-type": "sts",
                "policy-domain": "company-y.example",
                "mx-host": "*.mail.example",
            },
            "summary": {"total-successful-session-count": 5326, "total-failure-session-count": 303},
            "failure-details": [
                {
                    "result-type": "certificate-expired",
                    "sending-mta-ip": "2001:db8::1",
                    "failed-session-count": 100,
                }
            ],
        }
    ],
}


def aggregate(raw: bytes) -> list[AggregateReport]:
    result = extract_reports(raw)
    assert result.quarantine is None, result.quarantine
    return [report for report in result.reports if isinstance(report, AggregateReport)]


# -- where reports are found


def test_zip_attachment_in_a_mail() -> None:
    raw = factory.mail(("r.zip", "application/zip", factory.zipped(("r.xml", factory.report(4)))))
    (report,) = aggregate(raw)
    assert len(report.records) == 4
    assert report.source == "mail > part 2 'r.zip' > member 'r.xml'"


def test_gzip_sent_as_octet_stream_with_a_misleading_name() -> None:
    raw = factory.mail(("report.xml", "application/octet-stream", factory.gz(factory.report(2))), text=None)
    assert len(aggregate(raw)[0].records) == 2


def test_report_as_the_whole_mail_body() -> None:
    for encoding in ("base64", "7bit"):
        body = factory.report(2)
        if encoding == "base64":
            body = base64.encodebytes(body)
        raw = (
            b"From: a@receiver.example\r\nSubject: report\r\nContent-Type: text/xml\r\n"
            + f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode()
            + body
        )
        assert len(aggregate(raw)[0].records) == 2


def test_report_in_a_forwarded_message() -> None:
    inner = factory.mail(("r.xml.gz", "application/gzip", factory.gz(factory.report(3))))
    raw = (
        b"From: admin@example.com\r\nSubject: Fwd: report\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        b"--outer\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--outer\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--outer--\r\n"
    )
    assert len(aggregate(raw)[0].records) == 3


def test_long_leading_whitespace_is_looked_past() -> None:
    assert len(aggregate(b" " * 5000 + b"\n" + factory.report(2, head=""))[0].records) == 2


def test_several_reports_in_one_mail() -> None:
    archive = factory.zipped(("a.xml", factory.report(1)), ("b.xml", factory.report(2)))
    raw = factory.mail(
        ("a.zip", "application/zip", archive),
        ("c.json", "application/tlsrpt+json", json.dumps(TLS_REPORT).encode()),
    )
    result = extract_reports(raw)
    assert [report.kind for report in result.reports] == ["aggregate", "aggregate", "tlsrpt"]


def test_one_broken_report_quarantines_the_whole_mail() -> None:
    good = factory.report(2)
    raw = factory.mail(("a.xml", "text/xml", good), ("b.xml", "text/xml", good[:-40]))
    result = extract_reports(raw)
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.XML_TRUNCATED
    assert result.quarantine.location == "mail > part 3 'b.xml'"
    assert result.reports == []


def test_failure_report_inside_a_forward_is_not_read() -> None:
    arf = (
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"\r\n\r\n--arf\r\n'
        b"Content-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\n--arf\r\n"
        b"Content-Type: text/xml\r\n\r\n" + factory.report(1) + b"\r\n--arf--\r\n"
    )
    raw = (
        b'From: admin@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n'
        b"--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\n" + arf + b"\r\n--o--\r\n"
    )
    result = extract_reports(raw)
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.FAILURE_REPORT_NOT_SUPPORTED


def test_each_header_parsed_once_walks_the_same() -> None:
    """walk_mail parses each header once per mail; parsed anew on every look, the leaves are the same."""
    mails = [path.read_bytes() for path in factory.CORPUS.rglob("*.eml")] + [
        factory.mail(("rapport é.xml.gz", "application/gzip", factory.gz(factory.report(1)))),
        factory.mail(("a.zip", "application/zip", factory.zipped(("a.xml", factory.report(1)))), text=None),
    ]
    for raw in mails:
        plain = mime._walk(BytesParser(policy=policy.default).parsebytes(raw), DEFAULT_LIMITS)
        assert mime.walk_mail(raw, DEFAULT_LIMITS) == plain


# -- archives


def test_multi_member_gzip() -> None:
    data = factory.report(5)
    middle = len(data) // 2
    assert len(aggregate(factory.gz(data[:middle]) + factory.gz(data[middle:]))[0].records) == 5


@pytest.mark.parametrize("garbage", [b"\r\n", b"\x00" * 512, b"\x1f", b"trailing text"])
def test_trailing_garbage_after_gzip(garbage: bytes) -> None:
    assert len(aggregate(factory.gz(factory.report(2)) + garbage)[0].records) == 2


def test_doubled_gzip() -> None:
    assert len(aggregate(factory.gz(factory.gz(factory.report(2))))[0].records) == 2


def test_gzip_with_a_bad_crc() -> None:
    data = bytearray(factory.gz(factory.report(2)))
    data[-8] ^= 0xFF
    result = extract_reports(bytes(data))
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.ARCHIVE_CORRUPT


def test_corrupt_deflate_data() -> None:
    data = bytearray(factory.gz(factory.report(50)))
    data[40:60] = bytes(20)
    result = extract_reports(bytes(data))
    assert result.quarantine is not None
    assert result.quarantine.code in (ReasonCode.ARCHIVE_CORRUPT, ReasonCode.XML_MALFORMED)


def test_empty_zip() -> None:
    result = extract_reports(b"PK\x05\x06" + bytes(18))
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.EMPTY_ARCHIVE


def test_zip_with_a_readme_and_a_report() -> None:
    archive = factory.zipped(("README.txt", b"see the xml"), ("r.xml", factory.report(2)))
    result = extract_reports(archive)
    assert len(result.reports) == 1
    assert [skipped.code for skipped in result.skipped] == [ReasonCode.NOT_A_REPORT]


def test_truncated_zip() -> None:
    data = factory.zipped(("r.xml", factory.report(50)))
    result = extract_reports(data[: len(data) // 2])
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.ARCHIVE_CORRUPT


def test_stored_zip_member() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("r.xml", factory.report(3))
    assert len(aggregate(buffer.getvalue())[0].records) == 3


# -- SMTP TLS reports


def test_tls_report_gzipped_in_a_mail() -> None:
    raw = factory.mail(("r.json.gz", "application/tlsrpt+gzip", factory.gz(json.dumps(TLS_REPORT).encode())))
    (report,) = extract_reports(raw).reports
    assert isinstance(report, TlsReport)
    assert report.organization_name == "Company-X"
    assert report.date_range.start_datetime == datetime(2016, 4, 1, tzinfo=UTC)
    assert report.policies[0].policy.mx_host == ["*.mail.example"]
    assert report.policies[0].failure_details[0].failed_session_count == 100
    assert (report.total_successful_session_count, report.total_failure_session_count) == (5326, 303)


def test_tls_report_with_an_unknown_policy_type() -> None:
    document = json.loads(json.dumps(TLS_REPORT))
    document["policies"][0]["policy"]["policy-type"] = "experimental"
    assert parse_tls_report(json.dumps(document).encode()).policies[0].policy.policy_type == "unknown"


def test_tls_report_missing_a_field() -> None:
    document = json.loads(json.dumps(TLS_REPORT))
    del document["policies"][0]["policy"]["policy-domain"]
    with pytest.raises(ReportError) as raised:
        parse_tls_report(json.dumps(document).encode())
    assert raised.value.code is ReasonCode.INVALID_REPORT
    assert raised.value.field == "policies.0.policy.policy-domain"


def test_json_that_is_not_a_tls_report() -> None:
    result = extract_reports(b'{"hello": "world"}')
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.NOT_A_REPORT


def test_malformed_json() -> None:
    result = extract_reports(b'{"organization-name": "x", ')
    assert result.quarantine is not None
    assert result.quarantine.code is ReasonCode.JSON_MALFORMED


def test_deeply_nested_json() -> None:
    result = extract_reports(b"[" * 100_000)
    assert result.quarantine is not None
    assert result.quarantine.code in (ReasonCode.NESTING_TOO_DEEP, ReasonCode.JSON_MALFORMED)
