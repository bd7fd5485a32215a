"""Test-wide setup: no test can reach real AWS, and every AWS call goes to moto."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Set before anything imports boto3: fake credentials, a fixed region, and no endpoint override.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "DmarcwatchTests",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ[_name] = _value
for _name in [n for n in os.environ if n.startswith("DMARCWATCH_")]:
    del os.environ[_name]
# Only loopback may be contacted: DNS goes to 127.0.0.1 on a closed port (refused at once) unless a test
# starts the fixture DNS server and points the settings at it.
os.environ["DMARCWATCH_DNS_NAMESERVERS"] = "127.0.0.1"
os.environ["DMARCWATCH_DNS_PORT"] = "9"
os.environ["DMARCWATCH_DNS_TIMEOUT"] = "2.0"
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[None]:
    """One in-process moto per test process, with the buckets and usage plans of the local bootstrap."""
    from moto import mock_aws

    from dmarcwatch.local import moto_responses, moto_transactions
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.store import aws as aws_clients

    moto_transactions.apply()
    moto_responses.apply()

    with mock_aws():
        aws_clients.reset()
        bootstrap()
        yield
    aws_clients.reset()


@pytest.fixture
def aws(_moto_session: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS (moto) with a fresh table and ingest queue for this test, so tests stay independent."""
    from dmarcwatch.config import get_settings
    from dmarcwatch.store import aws as aws_clients
    from dmarcwatch.store import db

    suffix = uuid.uuid4().hex[:12]
    monkeypatch.setenv("DMARCWATCH_TABLE_NAME", f"dmarcwatch-{suffix}")
    # The ingest queue uploads and reprocessing go to (tests drain it with tests.support.worker).
    queue_url = aws_clients.client("sqs").create_queue(QueueName=f"dmarcwatch-ingest-{suffix}")["QueueUrl"]
    monkeypatch.setenv("DMARCWATCH_INGEST_QUEUE_URL", queue_url)
    # The export queue (tests run it with tests.support.exports).
    export_url = aws_clients.client("sqs").create_queue(QueueName=f"dmarcwatch-export-{suffix}")["QueueUrl"]
    monkeypatch.setenv("DMARCWATCH_EXPORT_QUEUE_URL", export_url)
    get_settings.cache_clear()
    db.create_table()
    yield
    db.low_level().delete_table(TableName=get_settings().table_name)
    aws_clients.client("sqs").delete_queue(QueueUrl=queue_url)
    aws_clients.client("sqs").delete_queue(QueueUrl=export_url)
    monkeypatch.undo()
    get_settings.cache_clear()
