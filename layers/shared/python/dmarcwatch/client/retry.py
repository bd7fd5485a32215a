"""When the client tries a request again, and how long it waits first.

A 429 is retried after its `Retry-After` (delta-seconds or an HTTP date), never sooner; a wait longer than
`max_retry_after` is not slept through but raised at once (a daily quota, say), with the wait on the error.
502, 503 and 504 and connection failures are retried with exponential backoff, but only for requests that
are safe to repeat: every method but POST, and the POSTs the client marks idempotent (adding domains and
bulk updates count what already happened). A POST that creates something (an export, a key) is not sent
twice because a gateway timed out while it may have run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from dmarcwatch.retry_after import parse_retry_after

RETRIED_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    # Attempts in all, the first included (1 = never retry).
    max_attempts: int = 5
    # The longest Retry-After the client waits for; a longer one is raised.
    max_retry_after: float = 60.0
    # Backoff before retry n (1-based): backoff_base * 2**(n-1), at most backoff_max, less up to `jitter`.
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.2

    def backoff(self, retry: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (retry - 1))
        return float(delay * (1 - self.jitter * random.random()))  # noqa: S311 - spreading retries, not secrets


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (None when it is absent or neither form)."""
    return parse_retry_after(value, now or datetime.now(UTC))
