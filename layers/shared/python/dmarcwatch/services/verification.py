"""Domain ownership verification by a TXT token (`dns.ownership`).

The account publishes `dmarcwatch-verification=<token>` as TXT at the domain itself or at
`_dmarcwatch.<domain>`. A DNS error is reported as such: "not found" is said only when both names
answered without the token.

A verification does not last for ever (review L1): a domain can change hands. Verifying a domain that is
verified already looks again, and so does every scan of it (`scanning.service`): when the token is seen,
the time is recorded (`verification_checked_at`); when it is authoritatively gone, the verification is
withdrawn. A failed lookup (SERVFAIL, timeout) never withdraws one, but shared-address routing trusts
only a verification granted or seen within the last 30 days (`ingest.routing`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from dmarcwatch.dns.ownership import Ownership, check_ownership, token_record
from dmarcwatch.events import DomainVerified, Event, EventType
from dmarcwatch.ids import IdPrefix, derived_id
from dmarcwatch.models import Domain, Tenant, utcnow
from dmarcwatch.scanning.service import withdraw_verification
from dmarcwatch.services import domains
from dmarcwatch.store import domains as domain_store


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
    return token_record(domain.name, domain.verification_token)


def _recheck(tenant: Tenant, domain: Domain) -> Verification:
    """A verified domain: still verified unless the token is authoritatively gone."""
    assert domain.verified_at is not None
    name, value = expected_record(domain)
    check = asyncio.run(check_ownership(domain.name, domain.verification_token))
    if check.status is Ownership.FOUND:
        # Seen again: the verification is fresh for shared-address routing (`ingest.routing`).
        domain_store.confirm_verification(tenant, domain.name, domain.verified_at, utcnow())
    if check.status is not Ownership.ABSENT:
        detail = f"could not look again: {'; '.join(check.errors)}" if check.errors else ""
        return Verification(domain, True, "already_verified", detail, name, value)
    withdraw_verification(tenant, domain)
    detail = (
        f'the token is no longer published, so the verification was withdrawn: publish TXT {name} "{value}"'
    )
    return Verification(
        domain.model_copy(update={"verified_at": None}), False, "token_not_found", detail, name, value
    )


def verify(tenant: Tenant, id_or_name: str) -> Verification:
    domain = domains.resolve(tenant, id_or_name, removed_ok=False)
    name, value = expected_record(domain)
    if domain.verified_at is not None:
        return _recheck(tenant, domain)
    check = asyncio.run(check_ownership(domain.name, domain.verification_token))
    if check.status is Ownership.UNKNOWN:
        return Verification(domain, False, "dns_error", "; ".join(check.errors), name, value)
    if check.status is Ownership.ABSENT:
        return Verification(domain, False, "token_not_found", f'publish TXT {name} "{value}"', name, value)
    now = utcnow()
    event = Event(
        # Named by the verification's time: a domain verified again after a withdrawal gets another event.
        id=derived_id(
            IdPrefix.EVENT, tenant.account_id, domain.id, EventType.DOMAIN_VERIFIED, now.isoformat()
        ),
        account_id=tenant.account_id,
        environment=tenant.environment.value,
        created_at=now,
        payload=DomainVerified(domain_id=domain.id, domain=domain.name),
    )
    domain_store.mark_verified(tenant, domain, now, event)
    return Verification(domain.model_copy(update={"verified_at": now}), True, "verified", "", name, value)
