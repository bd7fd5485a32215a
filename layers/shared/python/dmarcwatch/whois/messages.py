"""The WHOIS request: the one shape of a WHOIS-queue message, built by its senders (adding a domain, a
tenant's refresh, the schedule, a retry after a 429) and read by the worker."""

from __future__ import annotations

from enum import StrEnum

from dmarcwatch.modeling import Model
from dmarcwatch.models import Environment, Tenant


class WhoisOrigin(StrEnum):
    ADDED = "added"
    REFRESH = "refresh"
    SCHEDULE = "schedule"
    RETRY = "retry"


class WhoisRequest(Model):
    account_id: str
    environment: Environment
    domain_id: str
    domain: str
    origin: WhoisOrigin = WhoisOrigin.SCHEDULE

    @classmethod
    def of(cls, tenant: Tenant, domain_id: str, domain: str, origin: WhoisOrigin) -> WhoisRequest:
        return cls(
            account_id=tenant.account_id,
            environment=tenant.environment,
            domain_id=domain_id,
            domain=domain,
            origin=origin,
        )

    @property
    def tenant(self) -> Tenant:
        return Tenant(account_id=self.account_id, environment=self.environment)
