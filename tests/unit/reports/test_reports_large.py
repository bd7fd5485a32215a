"""A report of the size real providers send: 100,000 records, gzipped in a mail."""

from __future__ import annotations

from dmarcwatch.reports import AggregateReport, extract_reports

from . import factory

RECORDS = 100_000


def test_hundred_thousand_records() -> None:
    xml = factory.large_report(RECORDS)
    raw = factory.mail(("big.xml.gz", "application/gzip", factory.gz(xml, level=1)))
    result = extract_reports(raw)
    assert result.quarantine is None, result.quarantine
    (report,) = result.reports
    assert isinstance(report, AggregateReport)
    assert len(report.records) == RECORDS
    assert report.message_count == factory.expected_count(RECORDS)
    last = report.records[-1]
    index = RECORDS - 1
    assert last.source_ip == f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    assert last.envelope_from == f"bounce{index % 50}.example.com"
