"""Lambda: report ingestion from the inbound SQS queue (S3 ObjectCreated events of inbound/raw/)."""

from dmarcwatch.ingest.worker import handler

__all__ = ["handler"]
