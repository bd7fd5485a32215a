"""IANA's RDAP bootstrap for domains (`dns.json`), kept in the raw bucket so that the WHOIS workers fetch it
from IANA at most once a week between them (RFC 9224 asks clients to cache it), not once per container.

Stored under `rdap/` (not `cache/`, which the bucket's lifecycle empties daily) as JSON:
`{"fetched_at": <ISO>, "source": <URL>, "dns": <IANA's document>}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws

# The object prefix the WHOIS worker may read and write (infra/constructs/access.py grants it).
PREFIX = "rdap/"
KEY = f"{PREFIX}dns.json"


@dataclass(frozen=True)
class CachedBootstrap:
    fetched_at: datetime
    source: str
    dns: dict[str, Any]


def get() -> CachedBootstrap | None:
    """The stored copy; None when there is none (or it cannot be read as one)."""
    try:
        response = aws.client("s3").get_object(Bucket=get_settings().raw_bucket, Key=KEY)
    except ClientError as error:
        # Without s3:ListBucket, S3 answers a missing key with AccessDenied rather than NoSuchKey.
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied", "403"):
            return None
        raise
    try:
        document = json.loads(response["Body"].read())
        return CachedBootstrap(
            datetime.fromisoformat(document["fetched_at"]), str(document["source"]), dict(document["dns"])
        )
    except (ValueError, KeyError, TypeError):
        return None


def put(cached: CachedBootstrap) -> None:
    body = {"fetched_at": cached.fetched_at.isoformat(), "source": cached.source, "dns": cached.dns}
    aws.client("s3").put_object(
        Bucket=get_settings().raw_bucket,
        Key=KEY,
        Body=json.dumps(body).encode(),
        ContentType="application/json",
    )
