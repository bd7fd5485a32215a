"""What keeps scan requests in check (review M2, L5), on the domain item (pk=TENANT#…, sk=DOMAIN#<name>):

- `queued_until`: a scan request for the domain is in the scan queue until then (the lease). Taken with
  a conditional write before a message is sent, so a domain is never queued twice; cleared when the
  scanner records the scan. While the domain is active, taking the lease also moves its schedule (gsi2)
  to the lease's end, so the dispatcher does not see it as due meanwhile.
- `on_demand_at`: when the last on-demand scan (scan now or refresh) was granted; the cooldown's clock.

(The tenant's hourly scan budget is a windowed counter in `store.counters`.)

Leases and deferrals are written in parallel (a thread pool over the thread-safe low-level client): the
dispatcher leases up to thousands of domains per run and must not spend a round trip on each in turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.models import Tenant
from dmarcwatch.store.db import (
    conditional_updates,
    is_conditional_failure,
    key,
    parse_ts,
    table,
    to_wire,
    ts,
)


@dataclass(frozen=True)
class LeaseRequest:
    tenant: Tenant
    name: str
    # Active domains carry a schedule, which the lease moves; inactive ones only get the lease.
    scheduled: bool = True


def _domain_key(tenant: Tenant, name: str) -> dict[str, Any]:
    return to_wire(key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)))


def _schedule_values(tenant: Tenant, name: str, at: datetime) -> dict[str, Any]:
    keys = t.scan_schedule(tenant.account_id, tenant.environment.value, name, str(ts(at)))
    return {":gpk": keys["gsi2pk"], ":gsk": keys["gsi2sk"], ":at": keys["next_scan_at"]}


def _lease_call(request: LeaseRequest, now: datetime, until: datetime, due_only: bool) -> dict[str, Any]:
    values: dict[str, Any] = {":now": ts(now), ":until": ts(until)}
    update = "SET queued_until = :until"
    condition = "attribute_exists(pk) AND (attribute_not_exists(queued_until) OR queued_until <= :now)"
    if request.scheduled:
        update += ", gsi2pk = :gpk, gsi2sk = :gsk, next_scan_at = :at"
        values.update(_schedule_values(request.tenant, request.name, until))
    if due_only:
        # The index may still list a domain another run just leased or the scanner just rescheduled.
        condition += " AND attribute_exists(gsi2pk) AND next_scan_at <= :now"
    return {
        "TableName": table().name,
        "Key": _domain_key(request.tenant, request.name),
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_wire(values),
    }


def lease(
    requests: list[LeaseRequest], now: datetime, until: datetime, *, due_only: bool = False
) -> list[bool]:
    """Take the queue lease of each domain until `until`, in parallel; per request, whether it was taken
    (False: a lease is active, the domain is gone, or with `due_only` it is no longer due)."""
    return conditional_updates([_lease_call(request, now, until, due_only) for request in requests])


def release(requests: list[LeaseRequest], *, reschedule_at: datetime | None = None) -> None:
    """Drop the leases (the requests were not sent, or will not be scanned), in parallel. With
    `reschedule_at`, scheduled (active) domains are due again then."""
    calls: list[dict[str, Any]] = []
    for request in requests:
        call: dict[str, Any] = {
            "TableName": table().name,
            "Key": _domain_key(request.tenant, request.name),
            "UpdateExpression": "REMOVE queued_until",
            "ConditionExpression": "attribute_exists(pk)",
        }
        if reschedule_at is not None and request.scheduled:
            call["UpdateExpression"] = (
                "SET gsi2pk = :gpk, gsi2sk = :gsk, next_scan_at = :at REMOVE queued_until"
            )
            call["ConditionExpression"] += " AND attribute_exists(gsi2pk)"
            call["ExpressionAttributeValues"] = to_wire(
                _schedule_values(request.tenant, request.name, reschedule_at)
            )
        calls.append(call)
    conditional_updates(calls)


def schedule_unscheduled(requests: list[LeaseRequest], at: datetime) -> None:
    """Give each scheduled-kind domain that has no schedule (deactivated and activated again while its
    request waited) one at `at`, in parallel; a domain with a schedule keeps it."""
    conditional_updates(
        [
            {
                "TableName": table().name,
                "Key": _domain_key(request.tenant, request.name),
                "UpdateExpression": "SET gsi2pk = :gpk, gsi2sk = :gsk, next_scan_at = :at",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(gsi2pk)",
                "ExpressionAttributeValues": to_wire(_schedule_values(request.tenant, request.name, at)),
            }
            for request in requests
            if request.scheduled
        ]
    )


def defer(domains: list[tuple[Tenant, str]], until: datetime) -> None:
    """Move the schedule of each (still scheduled) domain to `until`, in parallel."""
    conditional_updates(
        [
            {
                "TableName": table().name,
                "Key": _domain_key(tenant, name),
                "UpdateExpression": "SET gsi2pk = :gpk, gsi2sk = :gsk, next_scan_at = :at",
                "ConditionExpression": "attribute_exists(gsi2pk)",
                "ExpressionAttributeValues": to_wire(_schedule_values(tenant, name, until)),
            }
            for tenant, name in domains
        ]
    )


def claim_on_demand(tenant: Tenant, name: str, now: datetime, cooldown_start: datetime) -> datetime | None:
    """Record an on-demand scan of the domain at `now` unless one was granted after `cooldown_start`.

    None when granted; otherwise the time of the on-demand scan that holds the cooldown.
    """
    try:
        table().update_item(
            Key=key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)),
            UpdateExpression="SET on_demand_at = :now",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(on_demand_at) OR on_demand_at <= :start)"
            ),
            ExpressionAttributeValues={":now": ts(now), ":start": ts(cooldown_start)},
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        item = (
            table()
            .get_item(
                Key=key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name)),
                ConsistentRead=True,
                ProjectionExpression="on_demand_at",
            )
            .get("Item")
        )
        # No item: the domain was deleted meanwhile; the caller's next read says so.
        return parse_ts(item.get("on_demand_at")) if item else now
    return None
