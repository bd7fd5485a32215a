"""Raw mail and report payloads in S3 (the bucket is versioned and lifecycled by the stack)."""

from __future__ import annotations

import gzip
import json
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.store import aws


def put_raw(key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
    aws.client("s3").put_object(Bucket=get_settings().raw_bucket, Key=key, Body=body, Metadata=metadata or {})


def get_raw(key: str) -> tuple[bytes, dict[str, str]]:
    """The object's bytes and its user metadata (e.g. the envelope recipients of the local SMTP server)."""
    response: dict[str, Any] = aws.client("s3").get_object(Bucket=get_settings().raw_bucket, Key=key)
    return response["Body"].read(), dict(response.get("Metadata") or {})


# The raw bucket's lifecycle expires objects carrying this tag after 30 days (the stack's rule): mail
# that no account took, spam and viruses are not kept for ever (review L2).
SHORT_RETENTION_TAG = {"Key": "dmarcwatch-retention", "Value": "short"}
SHORT_RETENTION_DAYS = 30


def mark_short_retention(key: str) -> None:
    aws.client("s3").put_object_tagging(
        Bucket=get_settings().raw_bucket, Key=key, Tagging={"TagSet": [SHORT_RETENTION_TAG]}
    )


def put_payload(key: str, document: bytes) -> None:
    aws.client("s3").put_object(
        Bucket=get_settings().raw_bucket,
        Key=key,
        Body=gzip.compress(document),
        ContentType="application/json",
        ContentEncoding="gzip",
    )


def presigned_url(key: str, expires_in: int = 300) -> str:
    url: str = aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": get_settings().raw_bucket, "Key": key}, ExpiresIn=expires_in
    )
    return url


def put_snapshot(key: str, document: Any) -> None:
    """A short-lived computed document (e.g. a ranking pages read); the bucket expires `cache/` soon."""
    aws.client("s3").put_object(
        Bucket=get_settings().raw_bucket, Key=key, Body=gzip.compress(json.dumps(document).encode(), 1)
    )


def get_snapshot(key: str) -> Any | None:
    try:
        response: dict[str, Any] = aws.client("s3").get_object(Bucket=get_settings().raw_bucket, Key=key)
    except ClientError as error:
        # Without s3:ListBucket (deliberately not granted: it would show every tenant's keys), S3 answers
        # a missing key with AccessDenied rather than NoSuchKey.
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied", "403"):
            return None
        raise
    return json.loads(gzip.decompress(response["Body"].read()))
