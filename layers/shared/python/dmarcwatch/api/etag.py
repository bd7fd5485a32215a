"""Conditional GETs (seed 001): a 200 JSON answer to a GET carries an ETag; a request whose
If-None-Match names it gets 304 Not Modified without a body.

The tag is a hash of the body without `meta.request_id` (which differs on every call), so two reads of
unchanged data carry the same tag. It is weak (`W/`): equal JSON, not byte-equal representations.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def etag_of(body: bytes) -> str | None:
    """The weak ETag of a JSON envelope, or None if the body is not one."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("meta"), dict):
        document = {**document, "meta": {k: v for k, v in document["meta"].items() if k != "request_id"}}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return f'W/"{hashlib.sha256(canonical).hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False
