"""Lambda: report ingestion from the ingest queue (SES receipt notifications, upload and reprocess jobs,
domain purges)."""

from dmarcwatch.ingest.worker import handler

__all__ = ["handler"]
