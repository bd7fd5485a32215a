"""Domain ownership verification by a TXT token.

The account publishes `dmarcwatch-verification=<token>` as TXT at the domain itself or at
`_dmarcwatch.<domain>` (the second keeps the apex's TXT set short). Both are asked at once. A DNS error
is reported as such: "not found" is said only when both names answered without the token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from dmarcwatch.dns.resolver import DnsSession
from dmarcwatch.events import DomainVerified, Event
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.models import Domain, Tenant, utcnow
from dmarcwatch.services import domains
from dmarcwatch.store import domains as store
from dmarcwatch.store import events

RECORD_PREFIX = "dmarcwatch-verification="


@dataclass(frozen=True)
class Verification:
    domain: Domain
    verified: bool
    # "verified", "already_verified", "token_not_found", "dns_error"
    status: str
    detail: str
    record_name: str
    record_value: str


def expected_record(domain: Domain) -> tuple[str, str]:
    return f"_dmarcwatch.{domain.name}", f"{RECORD_PREFIX}{domain.verification_token}"


async def _lookup(domain: Domain) -> tuple[bool, list[str]]:
    session = DnsSession(max_queries=4)
    names = [domain.name, f"_dmarcwatch.{domain.name}"]
    results = await asyncio.gather(*(session.query(name, "TXT") for name in names))
    wanted = f"{RECORD_PREFIX}{domain.verification_token}"
    found = any(wanted == text.strip() for result in results if result.answered for text in result.txt())
    errors = [result.describe() for result in results if result.failed]
    return found, errors


def verify(tenant: Tenant, id_or_name: str) -> Verification:
    domain = domains.resolve(tenant, id_or_name)
    name, value = expected_record(domain)
    if domain.verified_at is not None:
        return Verification(domain, True, "already_verified", "", name, value)
    found, errors = asyncio.run(_lookup(domain))
    if not found:
        if errors:
            return Verification(domain, False, "dns_error", "; ".join(errors), name, value)
        return Verification(domain, False, "token_not_found", f'publish TXT {name} "{value}"', name, value)
    now = utcnow()
    if store.mark_verified(tenant, domain, now):
        events.put_event(
            Event(
                id=derived_id(IdPrefix.EVENT, tenant.account_id, domain.id, "domain.verified"),
                account_id=tenant.account_id,
                environment=tenant.environment.value,
                created_at=now,
                payload=DomainVerified(domain_id=domain.id, domain=domain.name),
            )
        )
    return Verification(domain.model_copy(update={"verified_at": now}), True, "verified", "", name, value)
