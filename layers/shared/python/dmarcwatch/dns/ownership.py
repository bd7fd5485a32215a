"""Proof of domain ownership by a TXT token, and whether it is still published.

The account publishes `dmarcwatch-verification=<token>` as TXT at the domain itself or at
`_dmarcwatch.<domain>` (the second keeps the apex's TXT set short). Both names are asked at once.

Three answers, because a proof is only ever withdrawn on evidence: `found` (either name has the token),
`absent` (both names answered authoritatively, with records, NXDOMAIN or NODATA, and neither has it) and
`unknown` (no token seen and at least one name failed: SERVFAIL, timeout, budget). A verification is
granted on `found` and dropped only on `absent`, never on `unknown`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from dmarcwatch.dns.resolver import DnsResult, DnsSession

RECORD_PREFIX = "dmarcwatch-verification="
# Two names, one question each: the rest is headroom.
QUERIES = 4


class Ownership(StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OwnershipCheck:
    status: Ownership
    # describe() of each failed lookup (empty unless some name failed).
    errors: list[str] = field(default_factory=list)


def token_record(domain: str, token: str) -> tuple[str, str]:
    """The name and TXT value the account is asked to publish."""
    return f"_dmarcwatch.{domain}", f"{RECORD_PREFIX}{token}"


def token_found(results: Iterable[DnsResult], token: str) -> bool:
    """Whether any answered TXT record is exactly the token record (an empty token never matches)."""
    if not token:
        return False
    wanted = f"{RECORD_PREFIX}{token}"
    return any(wanted == text.strip() for result in results if result.answered for text in result.txt())


async def check_ownership(domain: str, token: str, session: DnsSession | None = None) -> OwnershipCheck:
    """Ask both names for the token of `domain` (A-label). `session` defaults to a small fresh one (on a
    resolver of its own)."""
    own = session is None
    session = session or DnsSession(max_queries=QUERIES)
    names = [domain, token_record(domain, token)[0]]
    try:
        results = await asyncio.gather(*(session.query(name, "TXT") for name in names))
    finally:
        if own:
            session.close()
    if token_found(results, token):
        return OwnershipCheck(Ownership.FOUND)
    errors = [result.describe() for result in results if result.failed]
    return OwnershipCheck(Ownership.UNKNOWN if errors else Ownership.ABSENT, errors)
