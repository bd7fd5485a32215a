"""The ingestion pipeline, shared by the parser Lambda and the local worker (mail, uploads, reprocessing).

raw mail in S3 -> the envelope its receiver vouches for -> SES verdicts honoured -> extract every report
(or quarantine the whole mail with the reason) -> each report's stored form, checked for plausibility ->
route it to its tenants -> store report and records -> complete -> exactly-once aggregates.
Every step is idempotent, so the whole function can run again for the same object at any time, and a
report that fails in a pure step (parsing, caps, aggregation) is quarantined, never retried for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from dmarcwatch.events import Event, ReportQuarantined, ReportReceived
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.ingest import reporter, routing
from dmarcwatch.ingest.forms import ReportForm, is_within, report_form
from dmarcwatch.ingest.messages import Envelope, Verdict
from dmarcwatch.ingest.reasons import Reason
from dmarcwatch.ingest.sanity import Implausible
from dmarcwatch.models import Domain, QuarantineEntry, ReportStatus, StoredReport, Tenant, utcnow
from dmarcwatch.observability import logger
from dmarcwatch.portfolio_metrics import scopes_of
from dmarcwatch.reports.extract import extract_reports
from dmarcwatch.reports.models import ExtractionResult
from dmarcwatch.store import blobs, counters
from dmarcwatch.store import events as event_store
from dmarcwatch.store import reports as report_store
from dmarcwatch.store import scans as scan_store
from dmarcwatch.store.db import ItemTooLarge

# Errors of the AWS calls: the message is retried (and finally parked in the DLQ), never quarantined.
_INFRASTRUCTURE_ERRORS = (ClientError, BotoCoreError)


@dataclass
class IngestOutcome:
    raw_key: str
    stored: list[StoredReport] = field(default_factory=list)
    duplicates: list[StoredReport] = field(default_factory=list)
    quarantined: list[QuarantineEntry] = field(default_factory=list)


@dataclass
class _Context:
    outcome: IngestOutcome
    envelope: Envelope
    # The DKIM signers the receiving server verified (None: the delivery path verifies nothing).
    signers: list[str] | None
    now: datetime


def ingest_object(
    raw_key: str,
    *,
    only: Tenant | None = None,
    envelope: Envelope | None = None,
    now: datetime | None = None,
) -> IngestOutcome:
    """Process the raw mail or report file stored at `raw_key`.

    `envelope` is what the receiving server vouched for (SES's notification); without it, the object's
    metadata written by our own receivers. `only` restricts delivery to one tenant (uploads over the API
    and reprocessing a tenant's quarantine).
    """
    raw, metadata = blobs.get_raw(raw_key)
    envelope = envelope or Envelope.from_metadata(metadata)
    context = _Context(
        IngestOutcome(raw_key), envelope, reporter.verified_signers(envelope, raw), now or utcnow()
    )
    recipients = routing.resolve_recipients(context.envelope.recipients)
    if only is not None:
        recipients = routing.Recipients(tenants=[only], shared=False, addresses=recipients.addresses)
    owners: list[Tenant | None] = list(recipients.tenants) or [None]
    verdict = _verdict_rejection(context.envelope)
    if verdict is not None:
        for owner in owners:
            _quarantine(context, owner, verdict[0], verdict[1])
        _shorten_retention(raw_key)
        return context.outcome
    try:
        result = extract_reports(raw)
    except Exception as error:  # the parser promises not to raise; if it does, the mail is quarantined
        logger.exception("parser failed", extra={"raw_key": raw_key})
        result = None
        for owner in owners:
            _quarantine(context, owner, Reason.PROCESSING_ERROR, f"the parser failed: {type(error).__name__}")
    if result is not None:
        _ingest_result(context, result, recipients, owners)
    outcome = context.outcome
    if (
        not outcome.stored
        and not outcome.duplicates
        and all(q.account_id is None for q in outcome.quarantined)
    ):
        _shorten_retention(raw_key)
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


def _verdict_rejection(envelope: Envelope) -> tuple[str, str] | None:
    if envelope.virus == Verdict.FAIL:
        return Reason.VIRUS, "the receiving server found a virus in this mail; it was not opened"
    if envelope.spam == Verdict.FAIL:
        return Reason.SPAM, "the receiving server classified this mail as spam; it was not opened"
    return None


def _ingest_result(
    context: _Context, result: ExtractionResult, recipients: routing.Recipients, owners: list[Tenant | None]
) -> None:
    if result.quarantine is not None:
        for owner in owners:
            _quarantine(
                context,
                owner,
                result.quarantine.code.value,
                result.quarantine.message,
                location=result.quarantine.location,
            )
        return
    for report in result.reports:
        try:
            form = report_form(report, context.now)
        except Implausible as error:
            for owner in owners:
                _quarantine(context, owner, error.code, error.message, location=report.source)
            continue
        except Exception as error:
            logger.exception("report form failed", extra={"raw_key": context.outcome.raw_key})
            for owner in owners:
                _quarantine(
                    context,
                    owner,
                    Reason.PROCESSING_ERROR,
                    f"the report could not be processed: {type(error).__name__}",
                    location=report.source,
                )
            continue
        _route(context, form, recipients)


def _route(context: _Context, form: ReportForm, recipients: routing.Recipients) -> None:
    policy_domain = form.policy_domain
    tenants = list(recipients.tenants)
    if recipients.shared and policy_domain:
        tenants += [t for t in routing.shared_tenants(policy_domain) if t not in tenants]
    about = {"domain": policy_domain, "org": form.org, "external_id": form.external_id}
    if not tenants:
        _quarantine(
            context,
            None,
            Reason.NO_ACCOUNT,
            f"no account receives reports for {policy_domain or 'this report'} "
            f"at {', '.join(recipients.addresses) or 'this address'}",
            **about,
        )
        return
    for tenant in tenants:
        domain = routing.monitored_domain(tenant, policy_domain) if policy_domain else None
        if domain is None:
            _quarantine(
                context,
                tenant,
                Reason.DOMAIN_NOT_MONITORED,
                f"{policy_domain or 'the report'} is not a monitored domain of this account",
                **about,
            )
        elif not routing.is_active(domain):
            _quarantine(
                context,
                tenant,
                Reason.DOMAIN_INACTIVE,
                f"{domain.name} is deactivated; activate it and reprocess",
                **about,
            )
        else:
            try:
                _store(context, tenant, domain, form)
            except ItemTooLarge as error:
                _quarantine(context, tenant, Reason.TOO_LARGE, str(error), **about)


def _candidate(context: _Context, tenant: Tenant, domain: Domain, form: ReportForm) -> StoredReport:
    env = tenant.environment.value
    report_id = derived_id(
        IdPrefix.REPORT,
        tenant.account_id,
        env,
        form.kind.value,
        form.org.lower(),
        form.external_id,
        domain.name,
        form.content_hash,
    )
    check = reporter.check(context.signers, form.fields.get("org_email"), form.org)
    return StoredReport(
        id=report_id,
        account_id=tenant.account_id,
        environment=env,
        kind=form.kind,
        domain_id=domain.id,
        domain=domain.name,
        org_name=form.org,
        external_report_id=form.external_id,
        received_at=context.now,
        raw_key=context.outcome.raw_key,
        payload_key=f"payloads/{tenant.account_id}/{env}/{report_id}.json.gz",
        begin=form.begin,
        end=form.end,
        record_count=len(form.records),
        content_hash=form.content_hash,
        aggregates_applied=False,
        source="upload" if context.envelope.receiver == "upload" else "mail",
        reporter_dkim_domain=check.dkim_domain,
        reporter_authenticated=check.authenticated,
        scopes=sorted(scopes_of(domain)),
        **form.fields,
    )


def _store(context: _Context, tenant: Tenant, domain: Domain, form: ReportForm) -> None:
    outcome = context.outcome
    stored = report_store.begin_report(_candidate(context, tenant, domain, form))
    if stored.status == ReportStatus.COMPLETE and stored.aggregates_applied:
        outcome.duplicates.append(stored)
        return
    first_to_complete = False
    if stored.status == ReportStatus.PENDING:
        blobs.put_payload(stored.payload_key, form.payload)
        starts = report_store.put_record_chunks(stored, form.records)
        stored = stored.model_copy(update={"record_chunks": len(starts), "chunk_starts": starts})
        first_to_complete = report_store.complete_report(stored, event_store.event_item(_received(stored)))
    # Complete (now or by an earlier, interrupted run): apply the statistics, once, then flag it. The day
    # totals go first, so every day that has source items has its statistics item (readers rely on it).
    updates = report_store.aggregate_updates(
        stored,
        form.days,
        (
            counters.reports_counter_subject(tenant.account_id, tenant.environment.value),
            counters.month_window(stored.received_at),
        ),
    )
    report_store.apply_aggregates(stored, updates, context.now)
    report_store.put_report_sources(stored, form.sources)
    report_store.mark_aggregates_applied(stored)
    selectors = {s for d, s in form.dkim_selectors if is_within(d, domain.name)}
    if selectors:
        scan_store.add_dkim_selectors(tenant, domain.id, selectors)
    done = stored.model_copy(update={"status": ReportStatus.COMPLETE, "aggregates_applied": True})
    # A run that found the report complete but its statistics unapplied finished an interrupted one.
    resumed = stored.status == ReportStatus.COMPLETE
    (outcome.stored if first_to_complete or resumed else outcome.duplicates).append(done)


def _received(stored: StoredReport) -> Event:
    return Event(
        id=derived_id(IdPrefix.EVENT, stored.id, "report.received"),
        account_id=stored.account_id,
        environment=stored.environment,
        created_at=stored.received_at,
        payload=ReportReceived(
            report_id=stored.id,
            kind=stored.kind.value,
            domain_id=stored.domain_id,
            domain=stored.domain,
            org_name=stored.org_name,
            external_report_id=stored.external_report_id,
            begin=stored.begin,
            end=stored.end,
            message_count=stored.message_count,
            record_count=stored.record_count,
            dmarc_pass_count=stored.dmarc_pass_count,
        ),
    )


def _shorten_retention(raw_key: str) -> None:
    try:
        blobs.mark_short_retention(raw_key)
    except _INFRASTRUCTURE_ERRORS:
        logger.warning("could not tag the raw object for short retention", extra={"raw_key": raw_key})


QUARANTINE_PER_TENANT_PER_DAY = 1_000


def _quarantine_room(tenant: Tenant, now: datetime) -> bool:
    day = now.strftime("%Y-%m-%d")
    counted = counters.increment(
        f"quarantine:{tenant.account_id}:{tenant.environment.value}",
        f"DAY#{day}",
        expires_at_epoch=int(now.timestamp()) + 2 * 86_400,
        limit=QUARANTINE_PER_TENANT_PER_DAY,
    )
    return counted is not None


def _quarantine(
    context: _Context,
    tenant: Tenant | None,
    reason: str,
    message: str,
    *,
    location: str | None = None,
    domain: str | None = None,
    org: str | None = None,
    external_id: str | None = None,
) -> None:
    outcome, now = context.outcome, context.now
    if tenant is not None and not _quarantine_room(tenant, now):
        # A stranger who knows the rua address could fill the tenant's quarantine; past the daily cap the
        # entry goes to the operator's (unrouted) quarantine instead, raw mail and reason kept (review M1).
        capped = f"{tenant.account_id}/{tenant.environment.value}"
        message = f"over the daily quarantine cap of {capped}: {message}"
        tenant = None
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
        recipients=context.envelope.recipients,
    )
    # Mail no account took, spam and viruses keep their raw object only for the short retention: their
    # entries go with it, so no entry points at mail that is gone.
    short = tenant is None or reason in (Reason.SPAM, Reason.VIRUS)
    keep_for = timedelta(days=blobs.SHORT_RETENTION_DAYS) if short else report_store.QUARANTINE_TTL
    if report_store.put_quarantine(entry, keep_for):
        logger.warning("quarantined", extra={"reason": reason, "raw_key": outcome.raw_key, "owner": owner})
        if tenant is not None:
            event_store.put_event(
                Event(
                    id=derived_id(IdPrefix.EVENT, entry.id, "report.quarantined"),
                    account_id=tenant.account_id,
                    environment=tenant.environment.value,
                    created_at=now,
                    payload=ReportQuarantined(quarantine_id=entry.id, reason=reason, message=message),
                )
            )
    outcome.quarantined.append(entry)
