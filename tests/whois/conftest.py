"""WHOIS tests: the fake RDAP server (trusted, named by the bootstrap), a WHOIS queue, and the API fixtures
of the integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.whois import bootstrap
from tests.integration.conftest import account, client, make_account, other_account  # noqa: F401
from tests.support.rdap import FakeRdap, Reply, serve
from tests.whois.support import drop_bootstrap_copy


@pytest.fixture
def rdap(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRdap]:
    """The fake RDAP server, trusted by whoisit's client, named by the bootstrap (S3 copy and URL)."""
    server = serve(tmp_path)
    fake = next(server)
    monkeypatch.setenv("DMARCWATCH_RDAP_CA_BUNDLE", str(fake.ca_path))
    monkeypatch.setenv("DMARCWATCH_RDAP_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("DMARCWATCH_RDAP_LOOKUP_DEADLINE_SECONDS", "4")
    monkeypatch.setenv("DMARCWATCH_RDAP_BOOTSTRAP_URL", fake.url("/bootstrap/dns.json"))
    get_settings.cache_clear()
    fake.replies["/bootstrap/dns.json"] = Reply(body=fake.bootstrap_document())
    bootstrap.forget()
    drop_bootstrap_copy()
    yield fake
    bootstrap.forget()
    drop_bootstrap_copy()
    server.close()
    get_settings.cache_clear()


@pytest.fixture
def whois_queue(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"dmarcwatch-whois-{uuid.uuid4().hex[:12]}"
    url: str = aws_clients.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    monkeypatch.setenv("DMARCWATCH_WHOIS_QUEUE_URL", url)
    get_settings.cache_clear()
    yield url
    aws_clients.client("sqs").delete_queue(QueueUrl=url)
    get_settings.cache_clear()
