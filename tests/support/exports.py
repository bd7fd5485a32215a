"""Running the export worker over what the API queued (the real handler, as Lambda's event source would),
and reading an export's file back through its presigned link."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx
from fastapi.testclient import TestClient

from dmarcwatch.config import get_settings
from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
from dmarcwatch.services.export_worker import handler
from dmarcwatch.store import aws


def queued_messages() -> list[dict[str, Any]]:
    """Receive what the export queue holds (the messages become invisible, as for a worker)."""
    sqs = aws.client("sqs")
    url = get_settings().export_queue_url
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return found
        found.extend(messages)


def run_messages(messages: list[dict[str, Any]], timeout_ms: int = 900_000) -> list[str]:
    """Hand each message to the worker's handler alone; the ids of those it reported failed."""
    failed: list[str] = []
    for message in messages:
        context = LocalLambdaContext("exporter", timeout_ms=timeout_ms)
        result = handler(sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:export"), context)
        failed.extend(f["itemIdentifier"] for f in result["batchItemFailures"])
    return failed


def run_export_queue() -> int:
    """Run every queued export; how many messages there were."""
    messages = queued_messages()
    assert not run_messages(messages)
    return len(messages)


def download(url: str) -> bytes:
    """The object a presigned link names, read with the tests' S3 client (in-process moto answers botocore,
    not a plain HTTP GET; the end-to-end test downloads over HTTP from the local stack)."""
    parsed = httpx.URL(url)
    assert parsed.params["X-Amz-Expires"] == "900", url
    bucket = get_settings().exports_bucket
    path = parsed.path.lstrip("/")
    key = path if parsed.host.startswith(f"{bucket}.") else path.removeprefix(f"{bucket}/")
    body: bytes = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def zip_member(data: bytes) -> tuple[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        return name, archive.read(name)


def json_rows(data: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(data)
    return rows


def export_and_run(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/exports (202), run the worker, and return the export as GET shows it then."""
    created = client.post("/v1/exports", headers=headers, json=body)
    assert created.status_code == 202, created.text
    run_export_queue()
    finished = client.get(f"/v1/exports/{created.json()['data']['id']}", headers=headers)
    assert finished.status_code == 200, finished.text
    data: dict[str, Any] = finished.json()["data"]
    return data
