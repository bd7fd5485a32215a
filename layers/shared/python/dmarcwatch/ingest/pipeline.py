"""The ingestion pipeline, shared by the parser Lambda, the local worker and report uploads.

raw mail in S3 -> recipients -> extract every report (or quarantine the whole mail with the reason)
-> route each report to its tenants -> store report, records and exactly-once aggregates -> complete.
Every step is idempotent, so the whole function can run again for the same object at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dmarcwatch.events import Event, ReportQuarantined, ReportReceived
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.ingest import routing
from dmarcwatch.ingest.aggregates import deltas
from dmarcwatch.ingest.models import QuarantineEntry, ReportKind, ReportStatus, StoredReport
from dmarcwatch.models import Domain, Tenant, utcnow
from dmarcwatch.observability import logger
from dmarcwatch.reports.extract import extract_reports
from dmarcwatch.reports.models import AggregateRecord, AggregateReport, Report, TlsReport
from dmarcwatch.services.accounts import month_window, reports_counter_subject
from dmarcwatch.store import blobs, events
from dmarcwatch.store import reports as store
from dmarcwatch.store import scans as scan_store


class Reason:
    """Quarantine reasons of routing (the parser's own reasons are `dmarcwatch.reports.errors.ReasonCode`)."""

    NO_ACCOUNT = "no_account_for_address"
    DOMAIN_NOT_MONITORED = "domain_not_monitored"
    DOMAIN_INACTIVE = "domain_inactive"


@dataclass
class IngestOutcome:
    raw_key: str
    stored: list[StoredReport] = field(default_factory=list)
    duplicates: list[StoredReport] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)


def ingest_object(raw_key: str, *, only: Tenant | None = None, now: datetime | None = None) -> IngestOutcome:
    """Process the raw mail or report file stored at `raw_key`.

    `only` restricts delivery to one tenant (uploads over the API and reprocessing a tenant's quarantine).
    """
    now = now or utcnow()
    raw, metadata = blobs.get_raw(raw_key)
    outcome = IngestOutcome(raw_key)
    recipients = routing.resolve_recipients(routing.recipient_addresses(raw, metadata))
    if only is not None:
        recipients = routing.Recipients(tenants=[only], shared=False, addresses=recipients.addresses)
    result = extract_reports(raw)
    if result.quarantine is not None:
        owners: list[Tenant | None] = list(recipients.tenants) or [None]
        for owner in owners:
            _quarantine(
                outcome,
                owner,
                result.quarantine.code.value,
                result.quarantine.message,
                now,
                location=result.quarantine.location,
            )
        return outcome
    for report in result.reports:
        _route(outcome, report, recipients, now)
    logger.info(
        "ingested",
        extra={
            "raw_key": raw_key,
            "stored": len(outcome.stored),
            "duplicates": len(outcome.duplicates),
            "quarantined": len(outcome.quarantined),
        },
    )
    return outcome


def _policy_domain(report: Report) -> str:
    if isinstance(report, AggregateReport):
        return report.policy_published.domain.lower().rstrip(".")
    return report.policies[0].policy.policy_domain.lower().rstrip(".") if report.policies else ""


def _identity(report: Report) -> tuple[str, str]:
    if isinstance(report, AggregateReport):
        return report.metadata.org_name, report.metadata.report_id
    return report.organization_name, report.report_id


def _route(outcome: IngestOutcome, report: Report, recipients: routing.Recipients, now: datetime) -> None:
    policy_domain = _policy_domain(report)
    org, external_id = _identity(report)
    tenants = list(recipients.tenants)
    if recipients.shared and policy_domain:
        tenants += [t for t in routing.shared_tenants(policy_domain) if t not in tenants]
    if not tenants:
        _quarantine(
            outcome,
            None,
            Reason.NO_ACCOUNT,
            f"no account receives reports for {policy_domain or 'this report'} "
            f"at {', '.join(recipients.addresses) or 'this address'}",
            now,
            domain=policy_domain,
            org=org,
            external_id=external_id,
        )
        return
    for tenant in tenants:
        domain = routing.monitored_domain(tenant, policy_domain) if policy_domain else None
        if domain is None:
            _quarantine(
                outcome,
                tenant,
                Reason.DOMAIN_NOT_MONITORED,
                f"{policy_domain or 'the report'} is not a monitored domain of this account",
                now,
                domain=policy_domain,
                org=org,
                external_id=external_id,
            )
        elif not routing.is_active(domain):
            _quarantine(
                outcome,
                tenant,
                Reason.DOMAIN_INACTIVE,
                f"{domain.name} is deactivated; activate it and reprocess",
                now,
                domain=policy_domain,
                org=org,
                external_id=external_id,
            )
        else:
            _store(outcome, tenant, domain, report, now)


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


def _store(outcome: IngestOutcome, tenant: Tenant, domain: Domain, report: Report, now: datetime) -> None:
    org, external_id = _identity(report)
    env = tenant.environment.value
    kind = ReportKind.AGGREGATE if isinstance(report, AggregateReport) else ReportKind.TLSRPT
    report_id = derived_id(
        IdPrefix.REPORT, tenant.account_id, env, kind.value, org.lower(), external_id, domain.name
    )
    common = {
        "id": report_id,
        "account_id": tenant.account_id,
        "environment": env,
        "kind": kind,
        "domain_id": domain.id,
        "domain": domain.name,
        "org_name": org,
        "external_report_id": external_id,
        "received_at": now,
        "raw_key": outcome.raw_key,
        "payload_key": f"payloads/{tenant.account_id}/{env}/{report_id}.json.gz",
    }
    if isinstance(report, AggregateReport):
        begin, end = report.metadata.date_range.begin, report.metadata.date_range.end
        records = [record_document(r) for r in report.records]
        candidate = StoredReport(
            **common,
            org_email=report.metadata.email,
            begin=begin,
            end=end,
            record_count=len(records),
            message_count=report.message_count,
            dmarc_pass_count=sum(r.count for r in report.records if r.dmarc_pass),
            policy_published=report.policy_published.model_dump(mode="json"),
            errors=report.metadata.errors,
        )
    else:
        assert isinstance(report, TlsReport)
        begin, end = report.date_range.start_datetime, report.date_range.end_datetime
        records = [p.model_dump(mode="json", by_alias=True) for p in report.policies]
        candidate = StoredReport(
            **common,
            org_email=report.contact_info,
            begin=begin,
            end=end,
            record_count=len(records),
            message_count=report.total_successful_session_count + report.total_failure_session_count,
            summary={
                "total_successful_session_count": report.total_successful_session_count,
                "total_failure_session_count": report.total_failure_session_count,
            },
        )
    stored = store.begin_report(candidate)
    if stored.status == ReportStatus.COMPLETE:
        outcome.duplicates.append(stored)
        return
    blobs.put_payload(stored.payload_key, report.model_dump_json(by_alias=True).encode())
    chunks = store.put_record_chunks(stored, records)
    if isinstance(report, AggregateReport):
        days, sources = deltas(report)
        store.apply_aggregates(stored, days, sources)
        # The DKIM selectors receivers saw for this domain: the scanner checks them besides the common list.
        selectors = {
            d.selector.lower()
            for r in report.records
            for d in r.dkim_results
            if d.selector and d.domain and d.domain.lower().rstrip(".").endswith(domain.name)
        }
        scan_store.add_dkim_selectors(tenant, domain.id, selectors)
    stored = stored.model_copy(update={"record_chunks": chunks})
    event = Event(
        id=derived_id(IdPrefix.EVENT, stored.id, "report.received"),
        account_id=tenant.account_id,
        environment=env,
        created_at=now,
        payload=ReportReceived(
            report_id=stored.id,
            kind=stored.kind.value,
            domain_id=domain.id,
            domain=domain.name,
            org_name=org,
            external_report_id=external_id,
            begin=begin,
            end=end,
            message_count=stored.message_count,
            record_count=stored.record_count,
            dmarc_pass_count=stored.dmarc_pass_count,
        ),
    )
    if store.complete_report(
        stored, month_window(now), reports_counter_subject(tenant), events.event_item(event)
    ):
        outcome.stored.append(stored.model_copy(update={"status": ReportStatus.COMPLETE}))
    else:
        outcome.duplicates.append(stored)


def _quarantine(
    outcome: IngestOutcome,
    tenant: Tenant | None,
    reason: str,
    message: str,
    now: datetime,
    *,
    location: str | None = None,
    domain: str | None = None,
    org: str | None = None,
    external_id: str | None = None,
) -> None:
    owner = f"{tenant.account_id}#{tenant.environment.value}" if tenant else "unrouted"
    entry = QuarantineEntry(
        id=derived_id(
            IdPrefix.QUARANTINE, outcome.raw_key, owner, reason, org or "", external_id or "", domain or ""
        ),
        account_id=tenant.account_id if tenant else None,
        environment=tenant.environment.value if tenant else None,
        reason=reason,
        message=message,
        location=location,
        raw_key=outcome.raw_key,
        created_at=now,
        domain=domain,
        org_name=org,
        external_report_id=external_id,
    )
    if store.put_quarantine(entry):
        logger.warning("quarantined", extra={"reason": reason, "raw_key": outcome.raw_key, "owner": owner})
        if tenant is not None:
            events.put_event(
                Event(
                    id=derived_id(IdPrefix.EVENT, entry.id, "report.quarantined"),
                    account_id=tenant.account_id,
                    environment=tenant.environment.value,
                    created_at=now,
                    payload=ReportQuarantined(quarantine_id=entry.id, reason=reason, message=message),
                )
            )
    outcome.quarantined.append(entry)
