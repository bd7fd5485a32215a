"""Which tenants a report belongs to: the account's own rua address, or the shared one by policy domain.

Recipients are the envelope's, as the receiving server recorded them (SES's notification, our SMTP
stand-in's object metadata), never the To/Cc headers the sender wrote (review M1).
`<token>@<reports domain>` delivers to the account's live environment and `<token>+test@…` to its test
environment. Any other local part at the reports domain is the shared address: the report goes to the
live tenants that monitor its policy domain and have verified owning it (otherwise anyone could add a
domain and read its reports). A report is stored only under a monitored, active domain
(the policy domain itself or its nearest monitored parent); anything else is quarantined with a reason.

A verification counts for the shared address only while it is fresh (review L1): granted, or confirmed
by a scan that saw the token, within `VERIFICATION_TRUSTED_FOR`. Scans of an active domain look for the
token at least daily and withdraw the verification when it is gone, but a lookup that keeps failing
never withdraws one, and a domain nobody scans is never looked at: without the bound, either would let a
former owner read a domain's reports for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dmarcwatch.config import get_settings
from dmarcwatch.models import Domain, DomainStatus, Environment, Tenant, utcnow
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import domains as domain_store

# How long a verification counts for the shared address after it was granted or last confirmed.
VERIFICATION_TRUSTED_FOR = timedelta(days=30)


@dataclass(frozen=True)
class Recipients:
    tenants: list[Tenant]
    shared: bool
    addresses: list[str]


def resolve_recipients(addresses: list[str]) -> Recipients:
    domain = get_settings().reports_domain.lower()
    tenants: list[Tenant] = []
    shared = False
    ours = [a for a in addresses if a.rsplit("@", 1)[-1] == domain]
    for address in ours:
        local = address.rsplit("@", 1)[0]
        token, _, tag = local.partition("+")
        account = account_store.find_account_by_inbound_token(token)
        if account is None:
            shared = True
            continue
        environment = Environment.TEST if tag == "test" else Environment.LIVE
        tenant = Tenant(account_id=account.id, environment=environment)
        if tenant not in tenants:
            tenants.append(tenant)
    # Mail without a trusted recipient at our domain (forwarded, BCC, or an object with no envelope) is
    # routed like the shared address: by policy domain, to verified owners only.
    return Recipients(tenants=tenants, shared=shared or not ours, addresses=addresses)


def candidate_names(policy_domain: str) -> list[str]:
    """The policy domain and its parents, nearest first (stopping before the top-level label)."""
    labels = policy_domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def monitored_domain(tenant: Tenant, policy_domain: str) -> Domain | None:
    for name in candidate_names(policy_domain):
        domain = domain_store.get_by_name(tenant, name)
        if domain is not None and domain.status != DomainStatus.REMOVED:
            return domain
    return None


def shared_tenants(policy_domain: str, now: datetime | None = None) -> list[Tenant]:
    """The live tenants that monitor the policy domain or a parent and hold a fresh verification of it."""
    trusted_since = (now or utcnow()) - VERIFICATION_TRUSTED_FOR
    found: list[Tenant] = []
    for name in candidate_names(policy_domain):
        for tenant in domain_store.tenants_monitoring(name, verified_since=trusted_since):
            if tenant.environment == Environment.LIVE and tenant not in found:
                found.append(tenant)
    return found


def is_active(domain: Domain) -> bool:
    return domain.status == DomainStatus.ACTIVE
