"""A 10,000-domain CSV export from the local stack: queued over HTTP, run by the stack's export worker against
its embedded S3, downloaded through the presigned `file_url`, and parsed back to exactly `GET /v1/domains`
paged to the end."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from tests.support.local_stack import create_account, start_local_stack

pytestmark = pytest.mark.e2e

DOMAINS = 10_000
BULK = 500


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    # The scheduler would queue a rescan of every domain due (all 10,000 at once): kept out of the way, so
    # the listing compared with the file does not change under the test.
    try:
        process, ready = start_local_stack({"DMARCWATCH_SCHEDULER_INTERVAL_SECONDS": "86400"})
    except RuntimeError as error:
        pytest.fail(str(error))
    yield ready
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def cell(value: Any) -> str:
    """A value of the API's JSON as the CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def scans_pending(aws_endpoint: str) -> int:
    sqs = boto3.client(
        "sqs",
        endpoint_url=aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    url = sqs.get_queue_url(QueueName="dmarcwatch-scan")["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_until(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_a_ten_thousand_domain_csv_export_downloads_and_equals_the_listing(stack: dict[str, str]) -> None:
    started = time.monotonic()
    # Enterprise allows 10,000 domains per environment (pro: 250).
    owner = create_account(stack["aws"], "exporter@example.com", "enterprise")
    names = [f"export{i:05}.example" for i in range(DOMAINS)]
    with httpx.Client(
        base_url=stack["api"], headers={"Authorization": f"Bearer {owner['live_key']}"}, timeout=300
    ) as api:
        for start in range(0, DOMAINS, BULK):
            added = api.post("/domains", json={"domains": names[start : start + BULK]})
            assert added.status_code == 201, added.text
            assert added.json()["data"]["added"] == BULK
        added_at = time.monotonic()
        # The first scans the adds queued change the domains' scan fields: let them finish first.
        wait_until(lambda: scans_pending(stack["aws"]) == 0, 300, "the queued first scans")

        created = api.post("/exports", json={"export_type": "csv", "dataset": "domains"})
        assert created.status_code == 202, created.text
        export_id = created.json()["data"]["id"]
        export: dict[str, Any] = {}

        def finished() -> bool:
            nonlocal export
            export = api.get(f"/exports/{export_id}").json()["data"]
            return export["status"] in ("completed", "failed")

        wait_until(finished, 300, "the export")
        exported_at = time.monotonic()
        assert export["status"] == "completed", export
        assert (export["row_count"], export["truncated"]) == (DOMAINS, False)

        downloaded = httpx.get(export["file_url"], timeout=60)  # the presigned GET, from the embedded S3
        assert downloaded.status_code == 200, downloaded.text[:500]
        assert len(downloaded.content) == export["file_size"]
        rows = list(csv.DictReader(io.StringIO(downloaded.content.decode())))

        listed: list[dict[str, Any]] = []
        url: str | None = "/domains?limit=1000"
        while url:
            page = api.get(url).json()
            listed.extend(page["data"])
            url = page["meta"]["next"]
    assert len(listed) == DOMAINS
    assert scans_pending(stack["aws"]) == 0

    shared = [name for name in rows[0] if name in listed[0] and not isinstance(listed[0][name], dict)]
    assert {"id", "domain", "status", "created_at", "email_gateway", "last_scan_at"} <= set(shared)
    assert [[row[name] for name in shared] for row in rows] == [
        [cell(d[name]) for name in shared] for d in listed
    ]
    assert [row["verified"] for row in rows] == [cell(d["verification"]["verified"]) for d in listed]
    print(
        f"\n10,000 domains: added in {added_at - started:.1f} s, exported in {exported_at - added_at:.1f} s "
        f"(first scans included), file {export['file_size']:,} bytes"
    )
