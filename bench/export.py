"""Export throughput and memory: a 100,000-row CSV export of domains, run by the export worker's handler over
in-process moto (the table and the exports bucket), beside the worker's budget.

Prints the rows per second of the run (claim, every page read through `domains.list_domains`, the CSV
written into the S3 multipart upload, completion), the process's peak resident memory before and after the
run and the file's size. moto keeps the uploaded parts in this same process, so the growth of the peak
includes the file's own bytes held by the emulator; what the worker holds is one 8 MiB part and one page of
rows. The domains are inserted through `store.domains.insert_domains` (setup, timed apart).

Figures are wall-clock on this machine, moto's DynamoDB included; compare runs with each other.
Usage: .venv/bin/python bench/export.py [rows]
"""

from __future__ import annotations

import csv
import io
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "DmarcwatchBench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "DMARCWATCH_TABLE_NAME": "dmarcwatch-bench",
}.items():
    os.environ[name] = value

ROWS = 100_000
# The worker's Lambda memory (api/registry.py) and a throughput that exports a million rows (the cap)
# well within its 900 s.
MEMORY_BUDGET_MB = 1024
TARGET_ROWS_PER_SECOND = 2_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from moto import mock_aws

    from dmarcwatch.local import moto_responses, moto_transactions

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    moto_transactions.apply()
    moto_responses.apply()
    with mock_aws():
        run(rows)


def run(rows: int) -> None:
    from dmarcwatch.config import get_settings
    from dmarcwatch.ids import IdPrefix, new_id, random_base62
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
    from dmarcwatch.models import Domain, Environment, Tenant, utcnow
    from dmarcwatch.services import domains, exports
    from dmarcwatch.services.export_worker import handler
    from dmarcwatch.store import aws, export_files
    from dmarcwatch.store import domains as domain_store

    aws.reset()
    bootstrap()
    queue = aws.client("sqs").create_queue(QueueName="dmarcwatch-export-bench")["QueueUrl"]
    os.environ["DMARCWATCH_EXPORT_QUEUE_URL"] = queue
    aws.reset()
    tenant = Tenant(account_id=new_id(IdPrefix.ACCOUNT), environment=Environment.LIVE)

    started = time.perf_counter()
    now = utcnow()
    for start in range(0, rows, 4_900):
        batch = [
            Domain(
                id=new_id(IdPrefix.DOMAIN),
                name=f"bench{i:07}.example",
                unicode_name=f"bench{i:07}.example",
                created_at=now,
                updated_at=now,
                verification_token=random_base62(24),
            )
            for i in range(start, min(start + 4_900, rows))
        ]
        added, _ = domain_store.insert_domains(tenant, batch, rows)
        assert len(added) == len(batch)
    setup = time.perf_counter() - started

    export = exports.create(
        tenant,
        exports.parameters(
            tenant,
            export_type="csv",
            dataset="domains",
            folder_id=None,
            columns=None,
            filters=None,
            since=None,
            until=None,
        ),
    )
    message = aws.client("sqs").receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"][0]
    # The time spent in the page reads (moto's Query of the tenant's partition) is measured apart: it is
    # the emulator's, and on DynamoDB a 1,000-item page takes tens of milliseconds.
    reading = [0.0]
    list_domains = domains.list_domains

    def timed_list(*args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            return list_domains(*args, **kwargs)
        finally:
            reading[0] += time.perf_counter() - begun

    domains.list_domains = timed_list  # type: ignore[assignment]
    before = peak_rss_mb()
    started = time.perf_counter()
    result = handler(
        sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:bench"),
        LocalLambdaContext("exporter", timeout_ms=900_000),
    )
    seconds = time.perf_counter() - started
    after = peak_rss_mb()
    assert result == {"batchItemFailures": []}, result
    done = exports.get(tenant, export.id)
    assert done.status.value == "completed", done
    assert done.row_count == rows, done
    body = aws.client("s3").get_object(Bucket=get_settings().exports_bucket, Key=done.file_key)["Body"].read()
    assert sum(1 for _ in csv.reader(io.StringIO(body.decode()))) == rows + 1
    size_mb = (done.file_size or 0) / 1_000_000

    parts = -(-(done.file_size or 0) // export_files.PART_BYTES)
    rest = seconds - reading[0]
    lines = [
        f"export of {rows:,} domains as CSV (in-process moto; the domains inserted in {setup:.1f} s first)",
        f"  run:       {seconds:.1f} s, {rows / seconds:,.0f} rows/s   (reference: >= "
        f"{TARGET_ROWS_PER_SECOND:,} rows/s, a 1,000,000-row export within the worker's 900 s)",
        f"  of which:  {reading[0]:.1f} s reading pages from moto's DynamoDB, {rest:.1f} s the rest (cells, "
        f"CSV, parts to moto's S3, progress): {rows / max(rest, 1e-9):,.0f} rows/s",
        f"  file:      {size_mb:.1f} MB in {parts} part(s) of {export_files.PART_BYTES // 2**20} MiB",
        f"  peak RSS:  {before:.0f} MB before the run, {after:.0f} MB after (+{after - before:.0f} MB; the "
        f"emulator in this process holds the {size_mb:.0f} MB file)   (reference: the worker's "
        f"{MEMORY_BUDGET_MB} MB)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
