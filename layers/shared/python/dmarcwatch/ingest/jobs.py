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
    envelope = (
        Envelope(recipients=entry.recipients, receiver="smtp") if entry else Envelope(receiver="upload")
    )
    now = utcnow()
    outcome = ingest_object(request.raw_key, only=tenant, envelope=envelope, now=now)
    if entry is not None:
        _settle_quarantine(entry, outcome)
    job = ingest_jobs.get_job(tenant, request.job_id)
    if job is not None and job.status == IngestJobStatus.PENDING:
        ingest_jobs.finish_job(finished(job, outcome))
    return outcome


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


def _settle_quarantine(entry: QuarantineEntry, outcome: IngestOutcome) -> None:
    now = utcnow()
    if outcome.stored or outcome.duplicates:
        report_store.mark_quarantine_resolved(entry, now)
    else:
        report_store.note_reprocess_attempt(entry, now)
