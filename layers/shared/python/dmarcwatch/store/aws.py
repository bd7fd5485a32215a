"""boto3 clients built from settings, so the local stack can point them at its embedded AWS.

Each client or resource is made once per process, at its first use (no module creates one at import).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from dmarcwatch.config import get_settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


@cache
def client(service: str) -> Any:
    settings = get_settings()
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_CONFIG,
    )


@cache
def presigning_client(service: str) -> Any:
    """A client whose presigned links are SigV4 (`X-Amz-Expires` bounds them), whatever boto3's default
    for the service and region."""
    settings = get_settings()
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_CONFIG.merge(Config(signature_version="s3v4")),
    )


@cache
def resource(service: str) -> Any:
    settings = get_settings()
    return boto3.resource(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_CONFIG,
    )


_on_reset: list[Callable[[], None]] = []


def on_reset(forget: Callable[[], None]) -> None:
    """Register a cache that depends on the clients or settings (e.g. a secret read through them)."""
    _on_reset.append(forget)


def forget_clients() -> None:
    """Forget the clients and resources (not the settings): the next use makes new ones, with their own
    credentials and connection pools (after a SnapStart restore). boto3 keeps the service models it loaded,
    so making them again is quick."""
    client.cache_clear()
    presigning_client.cache_clear()
    resource.cache_clear()


def reset() -> None:
    """Forget cached clients and settings (tests and the local stack change the environment)."""
    forget_clients()
    for forget in _on_reset:
        forget()
    get_settings.cache_clear()
