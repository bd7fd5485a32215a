"""Report ingestion: from a raw mail in S3 to stored reports and exactly-once statistics."""
