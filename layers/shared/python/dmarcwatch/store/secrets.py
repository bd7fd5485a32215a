"""Secrets the service reads at run time (Secrets Manager in AWS; settings values locally)."""

from __future__ import annotations

from functools import cache

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws


@cache
def cursor_secret() -> bytes:
    """The HMAC key for pagination cursors: the deployment's generated secret, else the local setting."""
    settings = get_settings()
    if settings.cursor_secret_arn:
        value = aws.client("secretsmanager").get_secret_value(SecretId=settings.cursor_secret_arn)
        return str(value["SecretString"]).encode()
    return settings.cursor_secret.get_secret_value().encode()


aws.on_reset(cursor_secret.cache_clear)
