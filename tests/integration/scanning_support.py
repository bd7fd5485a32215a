"""Fixtures and helpers of the scanning tests: a knotd serving versions of the zone change.test, the local
scan queue, and the scanner fed from it as the Lambda event source would.

The fixtures are registered by name (`serve`, `scan_queue`); a test module imports the fixture objects
under other names so that its parameters of those names shadow nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dmarcwatch.config import get_settings
from dmarcwatch.local.bootstrap import bootstrap_scanning
from dmarcwatch.local.lambda_runtime import LocalLambdaContext, sqs_event
from dmarcwatch.scanning.worker import handler as scanner_handler
from dmarcwatch.store import aws as aws_clients
from tests.dns.knot import KnotServer, find_knotd

ZONE = """$ORIGIN change.test.
$TTL 300
@   SOA  ns1.change.test. hostmaster.change.test. {serial} 3600 600 86400 300
@   NS   ns1.change.test.
ns1 A    127.0.0.1
@   MX   10 {mx}.change.test.
mx1 A    192.0.2.25
mx2 A    192.0.2.26
@   TXT  "v=spf1 {spf} -all"
_dmarc TXT "v=DMARC1; p={policy}; rua=mailto:dmarc@change.test"
"""
V1 = {"serial": 2026010101, "mx": "mx1", "spf": "ip4:192.0.2.0/24", "policy": "none"}
V2 = {"serial": 2026010102, "mx": "mx2", "spf": "ip4:192.0.2.0/24 ip4:198.51.100.0/24", "policy": "reject"}


@pytest.fixture(name="serve")
def serve_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[dict[str, object]], None]]:
    if find_knotd() is None:
        pytest.skip("knotd is not installed: `make test` installs the Debian package `knot`")
    servers: list[KnotServer] = []

    def serve_version(values: dict[str, object]) -> None:
        for server in servers:
            server.stop()
        zones = tmp_path / f"zones-{len(servers)}"
        zones.mkdir()
        (zones / "change.test.zone").write_text(ZONE.format(**values))
        server = KnotServer(tmp_path / f"knot-{len(servers)}", zones_dir=zones)
        server.start()
        servers.append(server)
        monkeypatch.setenv("DMARCWATCH_DNS_PORT", str(server.port))
        get_settings.cache_clear()

    yield serve_version
    for server in servers:
        server.stop()
    get_settings.cache_clear()


@pytest.fixture(name="scan_queue")
def scan_queue_fixture(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    url = bootstrap_scanning()
    # One queue per test process: what an earlier test left in it is not this test's.
    drain(url)
    monkeypatch.setenv("DMARCWATCH_SCAN_QUEUE_URL", url)
    get_settings.cache_clear()
    return url


def run_scanner(queue_url: str) -> int:
    """What the Lambda event source does: deliver queued messages to the scanner handler."""
    sqs = aws_clients.client("sqs")
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return handled
        response = scanner_handler(
            sqs_event(messages, "arn:aws:sqs:local:0:scan"), LocalLambdaContext("scanner")
        )
        assert response["batchItemFailures"] == []
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
        handled += len(messages)


def drain(queue_url: str) -> list[dict[str, str]]:
    """Every message in the queue, in the order received, deleted."""
    sqs = aws_clients.client("sqs")
    bodies: list[dict[str, str]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies
