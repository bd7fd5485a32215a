"""The key pagination cursors are signed with (read from Secrets Manager in AWS, settings locally)."""

from __future__ import annotations

from dmarcwatch.store import secrets


def cursor_secret() -> bytes:
    return secrets.cursor_secret()
