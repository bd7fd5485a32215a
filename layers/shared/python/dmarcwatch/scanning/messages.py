"""The scan request: the one shape of a scan-queue message, built by both senders (the dispatcher and
`queueing.queue_scans`) and read by the scanner, so none restates it.

`origin` says who asked: the schedule (the dispatcher) or a tenant (adding or activating domains, a
refresh). The scanner admits a tenant's own requests at a bounded rate and hands the rest back to the
schedule, where the dispatcher interleaves tenants; messages queued before the field existed read as
scheduled.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from dmarcwatch.interleave import interleave
from dmarcwatch.modeling import Model
from dmarcwatch.models import Environment, Tenant


class ScanOrigin(StrEnum):
    SCHEDULE = "schedule"
    REQUEST = "request"


class ScanRequest(Model):
    account_id: str
    environment: Environment
    domain: str
    origin: ScanOrigin = ScanOrigin.SCHEDULE

    @classmethod
    def of(cls, tenant: Tenant, domain: str, origin: ScanOrigin) -> ScanRequest:
        return cls(account_id=tenant.account_id, environment=tenant.environment, domain=domain, origin=origin)

    @property
    def tenant(self) -> Tenant:
        return Tenant(account_id=self.account_id, environment=self.environment)

    def message(self) -> dict[str, Any]:
        """The queue message body (JSON-ready)."""
        return self.model_dump(mode="json")


def round_robin(requests: Iterable[ScanRequest]) -> list[ScanRequest]:
    """The requests reordered to take one of each account in turn (each account's own order kept), so a
    queue filled from a batch gives every account its share of the scanner from the start."""
    return interleave(requests, lambda request: request.account_id)
