"""What one parsed report may keep, so that a stored report fits DynamoDB items: auth results per record,
entries in `metadata.errors` and their length, TLS failure details per policy. Beyond the caps data is
dropped and said so; the counts stay whole."""

from __future__ import annotations

import json

from dmarcwatch.reports import (
    DEFAULT_LIMITS,
    AggregateReport,
    Limits,
    TlsReport,
    extract_reports,
    parse_aggregate_xml,
    parse_tls_report,
)
from dmarcwatch.reports.deviations import Deviations, quoted

from . import factory
from .test_reports_extract import TLS_REPORT

LARGE = 8000  # just under the 8,192-character text cap


def record_with(auth: str, index: int = 0) -> str:
    return (
        f"<record><row><source_ip>192.0.2.{index % 250 + 1}</source_ip><count>2</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>"
        f"</row><identifiers><header_from>example.com</header_from></identifiers>"
        f"<auth_results>{auth}</auth_results></record>"
    )


def large_dkim(position: int) -> str:
    return (
        f"<dkim><domain>d{position}.example.com</domain><selector>{'s' * LARGE}</selector>"
        f"<result>pass</result><human_result>{'h' * LARGE}</human_result></dkim>"
    )


def test_a_record_with_seventy_large_dkim_results_keeps_ten() -> None:
    data = factory.report(body=factory.metadata() + record_with("".join(large_dkim(i) for i in range(70))))
    result = extract_reports(data)
    assert result.quarantine is None, result.quarantine
    (report,) = result.reports
    assert isinstance(report, AggregateReport)
    (record,) = report.records
    assert len(record.dkim_results) == DEFAULT_LIMITS.max_auth_results == 10
    assert [d.domain for d in record.dkim_results] == [f"d{i}.example.com" for i in range(10)]
    assert report.message_count == 2
    assert report.metadata.errors == [
        "auth_results beyond 10 per record dropped: 60 DKIM and 0 SPF results, in 1 record"
    ]
    # What is left is bounded: 10 results of two 8 KB texts, not 70.
    assert len(report.model_dump_json()) < 11 * 2 * LARGE


def test_spf_results_are_capped_too_and_the_note_sums_all_records() -> None:
    spf = "".join(f"<spf><domain>s{i}.example.com</domain><result>pass</result></spf>" for i in range(14))
    dkim = "".join(f"<dkim><domain>d{i}.example.com</domain><result>pass</result></dkim>" for i in range(12))
    records = record_with(spf + dkim, 0) + record_with(spf, 1) + record_with("", 2)
    report = parse_aggregate_xml([factory.report(body=factory.metadata() + records)])
    assert [(len(r.dkim_results), len(r.spf_results)) for r in report.records] == [(10, 10), (0, 10), (0, 0)]
    assert report.metadata.errors == [
        "auth_results beyond 10 per record dropped: 2 DKIM and 8 SPF results, in 2 records"
    ]


def test_the_auth_result_cap_is_a_limit() -> None:
    dkim = "".join(f"<dkim><domain>d{i}.example.com</domain><result>pass</result></dkim>" for i in range(5))
    data = factory.report(body=factory.metadata() + record_with(dkim))
    report = parse_aggregate_xml([data], limits=Limits(max_auth_results=3))
    assert len(report.records[0].dkim_results) == 3


def test_at_most_fifty_errors_of_at_most_300_characters() -> None:
    records = "".join(
        factory.record(index).replace(
            "<disposition>none</disposition>", f"<disposition>odd{index}</disposition>"
        )
        for index in range(80)
    )
    errors = "".join(f"<error>{'e' * LARGE}</error>" for _ in range(3))
    metadata = factory.metadata().replace("</report_metadata>", f"{errors}</report_metadata>")
    report = parse_aggregate_xml([factory.report(body=metadata + records)])
    entries = report.metadata.errors
    assert len(entries) == DEFAULT_LIMITS.max_report_errors == 50
    assert all(len(entry) <= DEFAULT_LIMITS.max_error_length == 300 for entry in entries)
    assert entries[:3] == ["e" * 299 + "…"] * 3  # the reporter's own errors first
    assert entries[3] == "record 1: disposition 'odd0' is not a known value; kept as unknown"
    # 3 + 80 deviations, 49 listed.
    assert entries[-1] == "34 more deviations not listed"
    assert len(report.records) == 80


def test_thousands_of_reporter_errors_are_counted_not_kept() -> None:
    errors = "".join(f"<error>error {index}</error>" for index in range(5000))
    metadata = factory.metadata().replace("</report_metadata>", f"{errors}</report_metadata>")
    report = parse_aggregate_xml([factory.report(body=metadata + factory.record(0))])
    assert report.metadata.errors[:2] == ["error 0", "error 1"]
    assert report.metadata.errors[-1] == "4951 more deviations not listed"
    assert len(report.metadata.errors) == 50


def test_the_cap_summary_is_listed_even_when_errors_fill_the_list() -> None:
    errors = "".join(f"<error>error {index}</error>" for index in range(60))
    metadata = factory.metadata().replace("</report_metadata>", f"{errors}</report_metadata>")
    dkim = "".join(f"<dkim><domain>d{i}.example.com</domain><result>pass</result></dkim>" for i in range(11))
    report = parse_aggregate_xml([factory.report(body=metadata + record_with(dkim))])
    assert report.metadata.errors[0].startswith("auth_results beyond 10 per record dropped: 1 DKIM")
    assert report.metadata.errors[-1] == "12 more deviations not listed"  # 60 errors and 1 summary, 49 listed


def test_reports_without_deviations_keep_their_errors_as_sent() -> None:
    metadata = factory.metadata().replace(
        "</report_metadata>", "<error>  DNS timeout  </error></report_metadata>"
    )
    report = parse_aggregate_xml([factory.report(body=metadata + factory.record(0))])
    assert report.metadata.errors == ["DNS timeout"]


def test_deviation_notes_are_bounded_however_many_distinct_ones() -> None:
    notes = Deviations(limit=5, length=40)
    for index in range(1000):
        notes.record(index, f"value {index} odd")
    notes.note("x" * 100)
    assert notes.entries([]) == [
        "record 1: value 0 odd",
        "record 2: value 1 odd",
        "record 3: value 2 odd",
        "record 4: value 3 odd",
        "997 more deviations not listed",
    ]
    assert quoted("a" * 100) == repr("a" * 64 + "…")
    assert quoted("x\ny") == "'x\\ny'"


# -- TLS reports


def tls_report(details: int) -> bytes:
    document = json.loads(json.dumps(TLS_REPORT))
    document["policies"][0]["failure-details"] = [
        {
            "result-type": "certificate-expired",
            "sending-mta-ip": f"192.0.2.{i % 250}",
            "failed-session-count": i,
        }
        for i in range(1, details + 1)
    ]
    return json.dumps(document).encode()


def test_tls_failure_details_are_capped_per_policy_and_the_largest_kept() -> None:
    report = parse_tls_report(tls_report(250))
    (policy,) = report.policies
    assert len(policy.failure_details) == DEFAULT_LIMITS.max_tls_failure_details == 100
    assert [d.failed_session_count for d in policy.failure_details] == list(range(151, 251))
    assert policy.omitted_failure_details == 150
    assert policy.omitted_failed_session_count == sum(range(1, 151))
    # The totals come from the policy's summary, which counts every session.
    assert report.total_failure_session_count == 303
    assert report.total_successful_session_count == 5326


def test_tls_reports_under_the_cap_are_untouched_and_cannot_claim_omissions() -> None:
    document = json.loads(tls_report(3))
    document["policies"][0]["omitted-failure-details"] = 7
    (policy,) = parse_tls_report(json.dumps(document).encode()).policies
    assert [d.failed_session_count for d in policy.failure_details] == [1, 2, 3]
    assert (policy.omitted_failure_details, policy.omitted_failed_session_count) == (0, 0)


def test_the_tls_cap_applies_through_extract_reports() -> None:
    raw = factory.mail(("r.json.gz", "application/tlsrpt+gzip", factory.gz(tls_report(30))))
    result = extract_reports(raw, limits=Limits(max_tls_failure_details=5))
    (report,) = result.reports
    assert isinstance(report, TlsReport)
    assert len(report.policies[0].failure_details) == 5
    assert report.policies[0].omitted_failure_details == 25
