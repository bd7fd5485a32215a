"""Test-wide setup: no test can reach real AWS, and every AWS call goes to moto."""

from __future__ import annotations

import os
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
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[None]:
    """One in-process moto per test process, bootstrapped like the local stack.

    Tests share it safely because every tenant item is keyed by its account, and each test makes its
    own accounts: isolation by the same construction the product relies on.
    """
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.store import aws as aws_clients
    from moto import mock_aws

    with mock_aws():
        aws_clients.reset()
        bootstrap()
        yield
    aws_clients.reset()


@pytest.fixture
def aws(_moto_session: None) -> None:
    """AWS (moto) with the table, buckets and usage plans in place."""
