"""The README's quick start, over real HTTP against the local stack, and the admin CLI against it."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import LocalStack
from tests.support.local_stack import create_account as support_create_account
from tests.support.reports import Row, aggregate_xml, report_mail

pytestmark = pytest.mark.e2e


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_quick_start_account_call(local_stack: LocalStack) -> None:
    response = httpx.get(f"{local_stack.api}/account", headers=bearer(local_stack.key))
    assert response.status_code == 200
    assert response.json()["data"]["plan"]["name"] == "pro"
    assert response.headers["x-request-id"]
    assert response.headers["x-ratelimit-limit"] == "300"
    assert httpx.get(f"{local_stack.api}/health").json()["data"]["status"] == "ok"
    assert httpx.get(f"{local_stack.api}/openapi.json").json()["info"]["title"] == "dmarcwatch API"


def create_account(stack: LocalStack, email: str, plan: str) -> dict[str, str]:
    return support_create_account(stack.aws, email, plan)


def test_admin_cli_creates_accounts_with_gateway_keys_that_work(local_stack: LocalStack) -> None:
    created = create_account(local_stack, "ops@example.com", "free")
    assert created["gateway_key_id"]
    assert created["live_key"].startswith("dmw_live_")
    account = httpx.get(f"{local_stack.api}/account", headers=bearer(created["live_key"])).json()["data"]
    assert account["id"] == created["account_id"]
    assert account["plan"]["name"] == "free"
    duplicate = subprocess.run(
        [sys.executable, "-m", "dmarcwatch.cli", "admin", "create-account", "--email", "OPS@example.com"],
        env=local_stack.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert duplicate.returncode == 1
    assert "conflict" in duplicate.stderr


def test_domains_keys_and_tenancy_over_http(local_stack: LocalStack) -> None:
    owner = create_account(local_stack, "owner@example.com", "pro")
    stranger = create_account(local_stack, "stranger@example.com", "pro")
    with httpx.Client(base_url=local_stack.api, headers=bearer(owner["live_key"])) as api:
        names = [f"site{i:02}.example" for i in range(60)] + ["not a domain", "192.0.2.1"]
        added = api.post("/domains", json={"domains": names}).json()["data"]
        assert (added["added"], added["invalid"]) == (60, 2)
        seen: list[str] = []
        next_url: str | None = "/domains?limit=25"
        while next_url:
            page = api.get(next_url).json()
            seen.extend(d["domain"] for d in page["data"])
            next_url = page["meta"]["next"]
        assert seen == sorted(names[:60])
        one = api.get("/domains/site07.example").json()["data"]
        key = api.post("/keys", json={"name": "temporary"}).json()["data"]
    foreign = httpx.get(f"{local_stack.api}/domains/{one['id']}", headers=bearer(stranger["live_key"]))
    assert foreign.status_code == 404
    assert httpx.get(f"{local_stack.api}/domains", headers=bearer(owner["test_key"])).json()["data"] == []
    assert httpx.get(f"{local_stack.api}/account", headers=bearer(key["key"])).status_code == 200
    httpx.delete(f"{local_stack.api}/keys/{key['id']}", headers=bearer(owner["live_key"]))
    revoked = httpx.get(f"{local_stack.api}/account", headers=bearer(key["key"]))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "invalid_api_key"


def send_mail(stack: LocalStack, rua: str, raw: bytes) -> None:
    host, port = stack.smtp.split(":")
    with smtplib.SMTP(host, int(port), timeout=30) as smtp:
        smtp.sendmail("noreply-dmarc-support@google.com", [rua], raw.replace(b"\n", b"\r\n"))


def wait_for(predicate: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError("timed out waiting for the pipeline")


def test_a_mailed_report_reaches_reports_stats_and_sources_exactly_once(local_stack: LocalStack) -> None:
    with httpx.Client(base_url=local_stack.api, headers=bearer(local_stack.key), timeout=30) as api:
        api.post("/domains", json={"domain": "mailed.example"})
        rua = api.get("/account").json()["data"]["inbound_address"]
        assert rua == local_stack.rua
        rows = [Row("192.0.2.10", 40), Row("192.0.2.11", 2, "fail", "fail")]
        raw = report_mail(rua, aggregate_xml("mailed.example", rows, report_id="e2e-1"))

        def totals() -> tuple[int, int]:
            stats = api.get("/domains/mailed.example/stats?start_date=2026-01-01&end_date=2026-01-01").json()
            return stats["data"]["totals"]["messages"], stats["data"]["totals"]["dmarc_fail"]

        # Hostile and non-report mail first: quarantined, and the worker keeps going.
        send_mail(local_stack, rua, b"Subject: hello\r\n\r\njust a note, no report\r\n")
        send_mail(
            local_stack,
            rua,
            report_mail(rua, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><x>&a;</x>'),
        )
        send_mail(local_stack, rua, raw)
        wait_for(lambda: any(r["external_report_id"] == "e2e-1" for r in api.get("/reports").json()["data"]))
        assert totals() == (42, 2)
        sources = api.get("/domains/mailed.example/sources?date=2026-01-01").json()["data"]
        assert [(s["ip"], s["messages"]) for s in sources] == [("192.0.2.10", 40), ("192.0.2.11", 2)]
        reasons = {q["reason"] for q in api.get("/quarantine").json()["data"]}
        assert reasons == {"no_report_found", "xml_entities_forbidden"}

        # The same report mailed again, and the S3 event of the first delivery replayed.
        send_mail(local_stack, rua, raw)
        replay_last_s3_event(local_stack)
        time.sleep(3)
        assert totals() == (42, 2)
        assert len([r for r in api.get("/reports").json()["data"] if r["external_report_id"] == "e2e-1"]) == 1


def replay_last_s3_event(stack: LocalStack) -> None:
    """Enqueue an S3 ObjectCreated event again for an object already processed (what S3 may do)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=stack.aws, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=stack.aws, region_name="us-east-1")
    bucket = "dmarcwatch-raw"
    objects = s3.list_objects_v2(Bucket=bucket, Prefix="inbound/raw/")["Contents"]
    newest = max(objects, key=lambda o: o["LastModified"])
    body = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": newest["Key"]}},
            }
        ]
    }
    queue = sqs.get_queue_url(QueueName="dmarcwatch-ingest")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
