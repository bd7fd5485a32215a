"""The AWS clients of the API functions, made ahead of their first request (SnapStart's hooks)."""

from __future__ import annotations

from dmarcwatch.store import aws

# What the API groups call: the table, the cursor secret, the queues, the raw bucket (uploads, presigning).
API_CLIENTS = ("secretsmanager", "sqs", "s3")


def prepare() -> None:
    """Make the clients now (this loads boto3's service models; no request is sent)."""
    aws.resource("dynamodb")
    for service in API_CLIENTS:
        aws.client(service)


def renew() -> None:
    """New clients in place of the ones a snapshot holds, so restored environments share no credentials
    or connections; cheap, because the service models stay loaded."""
    aws.forget_clients()
    prepare()
