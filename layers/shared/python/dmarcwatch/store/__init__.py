"""The data-access layer: the only code that calls DynamoDB (and, later, S3 and SQS)."""
