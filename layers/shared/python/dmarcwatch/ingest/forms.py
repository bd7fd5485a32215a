"""Each report kind's stored form: identity, policy domain, records and counter deltas.

Building the form is pure and happens before anything is written: the plausibility caps
(`ingest.sanity`) run here, so a report that cannot be counted is quarantined with no write at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatch
from typing import Any

from dmarcwatch.ingest.aggregates import DayDeltas, SourceDeltas, deltas
from dmarcwatch.ingest.sanity import check_aggregate_items, check_date_range
from dmarcwatch.models import ReportKind
from dmarcwatch.reports.models import AggregateRecord, AggregateReport, TlsReport


@dataclass
class ReportForm:
    kind: ReportKind
    org: str
    external_id: str
    policy_domain: str
    begin: datetime
    end: datetime
    content_hash: str
    # The parsed report as stored beside the raw mail.
    payload: bytes
    records: list[dict[str, Any]]
    # StoredReport fields particular to the kind.
    fields: dict[str, Any]
    days: DayDeltas = field(default_factory=dict)
    sources: SourceDeltas = field(default_factory=dict)
    # DKIM (domain, selector) pairs receivers saw, for the scanner.
    dkim_selectors: list[tuple[str, str]] = field(default_factory=list)


def _content_hash(report: AggregateReport | TlsReport) -> str:
    """The report's content, not where in the input it was found (a mailed and an uploaded copy of one
    report are the same report)."""
    return hashlib.sha256(report.model_dump_json(by_alias=True, exclude={"source"}).encode()).hexdigest()


def record_document(record: AggregateRecord) -> dict[str, object]:
    """The stored and served shape of a record."""
    return {
        "source_ip": record.source_ip,
        "count": record.count,
        "disposition": record.disposition.value,
        "dkim_aligned": record.policy_dkim.value,
        "spf_aligned": record.policy_spf.value,
        "dmarc_pass": record.dmarc_pass,
        "header_from": record.header_from,
        "envelope_from": record.envelope_from,
        "envelope_to": record.envelope_to,
        "override_reasons": [{"type": r.type.value, "comment": r.comment} for r in record.reasons],
        "dkim": [
            {"domain": d.domain, "selector": d.selector, "result": d.result.value}
            for d in record.dkim_results
        ],
        "spf": [
            {"domain": s.domain, "scope": s.scope.value if s.scope else None, "result": s.result.value}
            for s in record.spf_results
        ],
    }


@singledispatch
def report_form(report: object, now: datetime) -> ReportForm:
    raise TypeError(f"no stored form for {type(report).__name__}")


@report_form.register
def _aggregate(report: AggregateReport, now: datetime) -> ReportForm:
    begin, end = report.metadata.date_range.begin, report.metadata.date_range.end
    check_date_range(begin, end, now)
    days, sources = deltas(report)
    check_aggregate_items(len(days) + len(sources))
    payload = report.model_dump_json(by_alias=True).encode()
    return ReportForm(
        kind=ReportKind.AGGREGATE,
        org=report.metadata.org_name,
        external_id=report.metadata.report_id,
        policy_domain=report.policy_published.domain.lower().rstrip("."),
        begin=begin,
        end=end,
        content_hash=_content_hash(report),
        payload=payload,
        records=[record_document(r) for r in report.records],
        fields={
            "org_email": report.metadata.email,
            "message_count": report.message_count,
            "dmarc_pass_count": sum(r.count for r in report.records if r.dmarc_pass),
            "policy_published": report.policy_published.model_dump(mode="json"),
            "errors": report.metadata.errors,
        },
        days=days,
        sources=sources,
        dkim_selectors=sorted(
            {
                (d.domain.lower().rstrip("."), d.selector.lower())
                for r in report.records
                for d in r.dkim_results
                if d.selector and d.domain
            }
        ),
    )


@report_form.register
def _tlsrpt(report: TlsReport, now: datetime) -> ReportForm:
    begin, end = report.date_range.start_datetime, report.date_range.end_datetime
    check_date_range(begin, end, now)
    payload = report.model_dump_json(by_alias=True).encode()
    return ReportForm(
        kind=ReportKind.TLSRPT,
        org=report.organization_name,
        external_id=report.report_id,
        policy_domain=(
            report.policies[0].policy.policy_domain.lower().rstrip(".") if report.policies else ""
        ),
        begin=begin,
        end=end,
        content_hash=_content_hash(report),
        payload=payload,
        records=[p.model_dump(mode="json", by_alias=True) for p in report.policies],
        fields={
            "org_email": report.contact_info,
            "message_count": report.total_successful_session_count + report.total_failure_session_count,
            "summary": {
                "total_successful_session_count": report.total_successful_session_count,
                "total_failure_session_count": report.total_failure_session_count,
            },
        },
    )


def is_within(name: str, domain: str) -> bool:
    """`name` is `domain` or one of its subdomains (not merely a name ending in the same letters)."""
    return name == domain or name.endswith("." + domain)
