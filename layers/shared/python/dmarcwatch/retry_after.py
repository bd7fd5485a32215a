"""Reading a `Retry-After` header (RFC 9110 §10.2.3): delta-seconds or an HTTP date.

One parser for the RDAP client (`whois.transport`, which caps it) and the API client (`client.retry`,
which refuses waits beyond its own cap).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from `now` the header asks for: a date in the past is 0; neither form is None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
