"""The WHOIS worker Lambda over SQS events, and the weekly scheduler over the gsi2 schedule."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from dmarcwatch.models import utcnow
from dmarcwatch.store import whois as whois_store
from dmarcwatch.whois import worker
from dmarcwatch.whois.schedule import dispatch_due
from dmarcwatch.whois_record import WhoisStatus
from tests.support.rdap import FakeRdap
from tests.whois.support import queued, serve_domain, tenant_with_domains

pytestmark = pytest.mark.filterwarnings("ignore::whoisit.errors.QueryWarning")

CONTEXT = SimpleNamespace(
    function_name="whois", memory_limit_in_mb=256, invoked_function_arn="arn:aws:lambda:::function:whois",
    aws_request_id="req-1",
)  # fmt: skip


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "body": body,
                "receiptHandle": "r",
                "attributes": {},
                "eventSource": "aws:sqs",
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_the_worker_records_each_message_and_reports_bad_ones(rdap: FakeRdap, whois_queue: str) -> None:
    serve_domain(rdap, "one.test")
    serve_domain(rdap, "two.test")
    tenant, added = tenant_with_domains("one.test", "two.test")
    messages = queued(whois_queue)
    assert len(messages) == 2
    bodies = [json.dumps(m) for m in messages] + ['{"not": "a request"}']
    answer = worker.handler(sqs_event(bodies), CONTEXT)  # type: ignore[arg-type]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    for domain in added:
        stored = whois_store.get(tenant, domain.id)
        assert stored is not None
        assert stored.state.status is WhoisStatus.OK


def test_the_scheduler_queues_what_is_due_once_and_bounded(whois_queue: str) -> None:
    names = [f"d{i}.test" for i in range(12)]
    tenant, added = tenant_with_domains(*names)
    first = queued(whois_queue)
    assert len(first) == 12  # the first lookups the add sent; the items are leased for an hour
    now = utcnow()
    assert dispatch_due(now).queued == 0
    later = now + timedelta(hours=2)
    outcome = dispatch_due(later, max_per_shard=1)
    assert 1 <= outcome.queued <= 4  # at most one per shard
    sent = {m["domain_id"] for m in queued(whois_queue)}
    assert len(sent) == outcome.queued
    rest = dispatch_due(later)
    assert rest.queued == 12 - outcome.queued
    again = {m["domain_id"] for m in queued(whois_queue)}
    assert not again & sent
    assert sent | again == {d.id for d in added}
    # Leased: nothing due again until the lease ends.
    assert dispatch_due(later).queued == 0
    leased = whois_store.get(tenant, added[0].id)
    assert leased is not None
    assert leased.state.status is WhoisStatus.PENDING


def test_the_scheduler_skips_deleted_domains(whois_queue: str) -> None:
    from dmarcwatch.services import domains
    from dmarcwatch.store.purge import purge_domain

    tenant, (domain,) = tenant_with_domains("gone.test")
    queued(whois_queue)
    domains.delete_domain(tenant, domain.id)
    purge_domain(tenant, domain.id)
    assert dispatch_due(utcnow() + timedelta(hours=2)).queued == 0
