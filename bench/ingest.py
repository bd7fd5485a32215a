"""Ingest a generated 10,000-record report end to end (S3 -> parse -> DynamoDB) over in-process moto.

Prints the wall time and the number of AWS requests by operation. The request count is what matters in
AWS (cost and throttling); the time is moto's, useful for comparing runs on one machine, not DynamoDB's.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "DMARCWATCH_DNS_NAMESERVERS": "127.0.0.1",
    "DMARCWATCH_DNS_PORT": "9",
}.items():
    os.environ[name] = value

RECORDS = int(os.environ.get("BENCH_RECORDS", "10000"))


def main() -> None:
    from moto import mock_aws

    from dmarcwatch.ingest import pipeline
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.models import Environment, Tenant
    from dmarcwatch.plans import PlanName, get_plan
    from dmarcwatch.services import accounts, admin, domains
    from dmarcwatch.store import aws, blobs
    from tests.support.reports import Row, aggregate_xml, report_mail

    rows = [
        Row(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 1 + i % 7, "pass" if i % 3 else "fail")
        for i in range(RECORDS)
    ]
    with mock_aws():
        aws.reset()
        bootstrap()
        created = admin.create_account(
            f"bench-{uuid.uuid4().hex}@example.com", PlanName.ENTERPRISE, None, 365
        )
        tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
        domains.add_domains(tenant, get_plan(PlanName.ENTERPRISE), ["example.com"])
        address = accounts.inbound_address(created.account, Environment.LIVE)
        raw = report_mail(address, aggregate_xml("example.com", rows, report_id="bench"))
        key = f"inbound/raw/bench/{uuid.uuid4().hex}"
        blobs.put_raw(key, raw)

        calls: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            calls[event_name.rsplit(".", 1)[-1]] += 1

        for service in ("dynamodb", "s3"):
            aws.client(service).meta.events.register(f"before-call.{service}", count)
        aws.resource("dynamodb").meta.client.meta.events.register("before-call.dynamodb", count)

        start = time.perf_counter()
        outcome = pipeline.ingest_object(key)
        elapsed = time.perf_counter() - start
        assert outcome.stored
        assert outcome.stored[0].record_count == RECORDS

        calls_replay: Counter[str] = Counter()
        before = dict(calls)
        start = time.perf_counter()
        pipeline.ingest_object(key)
        replay = time.perf_counter() - start
        for name, value in calls.items():
            calls_replay[name] = value - before.get(name, 0)

    dynamo_ops = (
        "PutItem",
        "GetItem",
        "UpdateItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "Query",
        "BatchGetItem",
    )
    total = sum(v for k, v in calls.items() if k in dynamo_ops) - sum(
        v for k, v in calls_replay.items() if k in dynamo_ops
    )
    sys.stdout.write(f"report: {RECORDS} records, {len(raw)} bytes of mail\n")
    sys.stdout.write(f"first ingest: {elapsed:.2f} s (moto), {total} DynamoDB requests\n")
    for name in dynamo_ops:
        first = calls[name] - calls_replay[name]
        if first:
            sys.stdout.write(f"  {name:<20} {first}\n")
    s3_first = sum(calls[op] - calls_replay[op] for op in ("PutObject", "GetObject"))
    sys.stdout.write(f"S3 requests: {s3_first}\n")
    replay_total = sum(v for k, v in calls_replay.items() if k in dynamo_ops)
    sys.stdout.write(
        f"replay (duplicate delivery): {replay:.2f} s, {replay_total} DynamoDB requests, no count changed\n"
    )


if __name__ == "__main__":
    main()
