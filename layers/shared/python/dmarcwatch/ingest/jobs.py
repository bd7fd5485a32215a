"""Running an upload or a reprocessing run the API queued, and recording how it ended.

The API answers 202 with the job's id at once; the parser worker, with its time and memory, does the work
(review M5). A redelivered message runs the idempotent pipeline again and keeps the job's first outcome.
"""

from __future__ import annotations

from dmarcwatch.ingest.messages import Envelope, IngestRequest
from dmarcwatch.ingest.pipeline import IngestOutcome, ingest_object
from dmarcwatch.models import Environment, IngestJob, IngestJobStatus, QuarantineEntry, Tenant, utcnow
from dmarcwatch.store import ingest_jobs
from dmarcwatch.store import reports as report_store


def run(request: IngestRequest) -> IngestOutcome:
    tenant = Tenant(account_id=request.account_id, environment=Environment(request.environment))
    entry = report_store.get_quarantine(tenant, request.quarantine_id) if request.quarantine_id else None
    if entry is not None:
        outcome = reprocess(entry, only=tenant)[1]
    else:
        outcome = ingest_object(request.raw_key, only=tenant, envelope=Envelope(receiver="upload"))
    job = ingest_jobs.get_job(tenant, request.job_id)
    if job is not None and job.status == IngestJobStatus.PENDING:
        ingest_jobs.finish_job(finished(job, outcome))
    return outcome


def reprocess(entry: QuarantineEntry, *, only: Tenant | None) -> tuple[QuarantineEntry, IngestOutcome]:
    """Run a quarantined input again with the envelope it came with (for `only` that tenant, or through
    the normal routing), and mark the entry resolved when a report was stored; the updated entry."""
    now = utcnow()
    envelope = Envelope(recipients=entry.recipients, receiver="smtp")
    outcome = ingest_object(entry.raw_key, only=only, envelope=envelope, now=now)
    if outcome.stored or outcome.duplicates:
        report_store.mark_quarantine_resolved(entry, now)
        return entry.model_copy(update={"resolved": True, "reprocessed_at": now}), outcome
    report_store.note_reprocess_attempt(entry, now)
    return entry.model_copy(update={"reprocessed_at": now}), outcome


def finished(job: IngestJob, outcome: IngestOutcome) -> IngestJob:
    if outcome.stored:
        status = IngestJobStatus.STORED
    elif outcome.duplicates:
        status = IngestJobStatus.DUPLICATE
    else:
        status = IngestJobStatus.QUARANTINED
    return job.model_copy(
        update={
            "status": status,
            "finished_at": utcnow(),
            "report_ids": [r.id for r in outcome.stored],
            "duplicate_report_ids": [r.id for r in outcome.duplicates],
            "quarantined": [
                {"id": q.id, "reason": q.reason, "message": q.message} for q in outcome.quarantined
            ],
        }
    )
