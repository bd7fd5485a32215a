"""Helpers of the WHOIS tests: a WHOIS queue's messages, monitored domains, the fake server's answers."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dmarcwatch.config import get_settings
from dmarcwatch.models import Domain, Environment, Tenant
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import admin, domains
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import rdap_bootstrap as bootstrap_store
from tests.support.rdap import FakeRdap, Reply, registrar_domain, registry_domain


def drop_bootstrap_copy() -> None:
    aws_clients.client("s3").delete_object(Bucket=get_settings().raw_bucket, Key=bootstrap_store.KEY)


def queued(url: str) -> list[dict[str, Any]]:
    """The messages waiting on the queue (received and deleted), with their delay attribute."""
    sqs = aws_clients.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def tenant_with_domains(
    *names: str, environment: Environment = Environment.LIVE
) -> tuple[Tenant, list[Domain]]:
    created = admin.create_account(f"whois-{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 30)
    tenant = Tenant(account_id=created.account.id, environment=environment)
    added = domains.add_domains(tenant, get_plan(PlanName.PRO), list(names))
    assert not added.invalid, added.invalid
    return tenant, added.added


def serve_domain(
    fake: FakeRdap,
    name: str,
    *,
    org: str = "Corp Ltd",
    redacted: bool = False,
    expiry: datetime | None = None,
    registrar_link: bool = True,
) -> None:
    """The registry's answer for `name` (linking to the registrar's) and the registrar's."""
    when = (expiry or datetime(2031, 3, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    link = fake.url(f"/registrar/domain/{name}") if registrar_link else None
    fake.replies[f"/registry/domain/{name}"] = Reply(body=registry_domain(name, link, expiry=when))
    fake.replies[f"/registrar/domain/{name}"] = Reply(body=registrar_domain(name, org=org, redacted=redacted))


def days_from_now(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


def delayed(url: str) -> int:
    """How many messages wait on the queue for their delay to pass."""
    attributes = aws_clients.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])
