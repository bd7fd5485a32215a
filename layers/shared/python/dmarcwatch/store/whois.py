"""A domain's WHOIS/RDAP item: pk=TENANT#<acct>#<env>, sk=WHOIS#<dom_id> (`table.whois_sk`).

- `state`: the `WhoisState` as JSON (last good record, outcome of the latest lookup, expiry notice);
  `revision` advances with every lookup written, on the revision the worker read, so two workers that
  looked the same domain up never interleave their results or send an expiry event twice.
- `refresh_claimed_at`: when a tenant's refresh was last granted (the cooldown's clock, claimed with a
  conditional write like the scans' `on_demand_at`).
- `gsi2pk`/`gsi2sk`/`next_refresh_at`: the refresh schedule on the sparse gsi2 index (`WHOISDUE#<shard>`),
  read by the WHOIS scheduler; a queued lookup holds a lease by having its schedule moved past the lease.

The item is written first when the domain is added (due at once), so a lost queue message costs at
most the lease: the schedule brings the domain back. It is deleted with the domain (`store.purge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.events import Event
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store.db import (
    conditional_updates,
    due_page,
    is_conditional_failure,
    key,
    parse_ts,
    table,
    to_wire,
    transact_reasons,
    ts,
)
from dmarcwatch.store.events import event_item
from dmarcwatch.whois_record import WhoisState


@dataclass(frozen=True)
class StoredWhois:
    state: WhoisState
    revision: int
    refresh_claimed_at: datetime | None


@dataclass(frozen=True)
class WhoisRef:
    """A domain whose WHOIS is due or queued: the tenant, its id and its name."""

    tenant: Tenant
    domain_id: str
    domain: str


def _key(tenant: Tenant, domain_id: str) -> dict[str, str]:
    return key(t.tenant_pk(tenant.account_id, tenant.environment), t.whois_sk(domain_id))


def _schedule_values(tenant: Tenant, domain_id: str, at: datetime) -> dict[str, Any]:
    keys = t.whois_schedule(tenant.account_id, tenant.environment.value, domain_id, str(ts(at)))
    return {":gpk": keys["gsi2pk"], ":gsk": keys["gsi2sk"], ":nra": keys["next_refresh_at"]}


_SCHEDULE = "gsi2pk = :gpk, gsi2sk = :gsk, next_refresh_at = :nra"


def get(tenant: Tenant, domain_id: str) -> StoredWhois | None:
    item = table().get_item(Key=_key(tenant, domain_id), ConsistentRead=True).get("Item")
    if item is None:
        return None
    return StoredWhois(
        state=WhoisState.model_validate_json(str(item["state"])),
        revision=int(item.get("revision", 0)),
        refresh_claimed_at=parse_ts(item.get("refresh_claimed_at")),
    )


def _create_values(state: WhoisState) -> dict[str, Any]:
    return {
        ":type": "whois",
        ":id": state.domain_id,
        ":name": state.domain,
        ":state": state.model_dump_json(),
    }


_CREATE = (
    "#type = if_not_exists(#type, :type), domain_id = :id, #domain = :name, "
    "#state = if_not_exists(#state, :state)"
)
_CREATE_NAMES = {"#type": "type", "#domain": "domain", "#state": "state"}


def ensure_scheduled(tenant: Tenant, states: list[WhoisState], at: datetime) -> list[bool]:
    """Create each item (pending, due at `at`) unless it exists, in parallel; per item whether it was."""
    return conditional_updates(
        [
            {
                "TableName": table().name,
                "Key": to_wire(_key(tenant, state.domain_id)),
                "UpdateExpression": f"SET {_CREATE}, {_SCHEDULE}",
                "ConditionExpression": "attribute_not_exists(pk)",
                "ExpressionAttributeNames": _CREATE_NAMES,
                "ExpressionAttributeValues": to_wire(
                    {**_create_values(state), **_schedule_values(tenant, state.domain_id, at)}
                ),
            }
            for state in states
        ]
    )


def put_new(tenant: Tenant, states: list[WhoisState], at: datetime) -> None:
    """The items of domains that were just created (new ids: no item can exist yet), pending and due at
    `at`, as plain batched puts: a bulk add of 500 domains costs 20 requests, not 500 conditional ones."""
    with table().batch_writer() as batch:
        for state in states:
            schedule = t.whois_schedule(
                tenant.account_id, tenant.environment.value, state.domain_id, str(ts(at))
            )
            batch.put_item(
                Item={
                    **_key(tenant, state.domain_id),
                    "type": "whois",
                    "domain_id": state.domain_id,
                    "domain": state.domain,
                    "state": state.model_dump_json(),
                    **schedule,
                }
            )


def claim_refresh(
    tenant: Tenant, state: WhoisState, now: datetime, cooldown_start: datetime
) -> datetime | None:
    """Record a tenant's refresh at `now` (creating the item, pending, if needed) unless one was granted
    after `cooldown_start`. None when granted; otherwise the time of the refresh that holds the cooldown."""
    try:
        table().update_item(
            Key=_key(tenant, state.domain_id),
            UpdateExpression=f"SET {_CREATE}, refresh_claimed_at = :now",
            ConditionExpression="attribute_not_exists(refresh_claimed_at) OR refresh_claimed_at <= :start",
            ExpressionAttributeNames=_CREATE_NAMES,
            ExpressionAttributeValues={
                **_create_values(state),
                ":now": ts(now),
                ":start": ts(cooldown_start),
            },
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        found = get(tenant, state.domain_id)
        return found.refresh_claimed_at if found and found.refresh_claimed_at else now
    return None


def lease(refs: list[WhoisRef], now: datetime, until: datetime, *, due_only: bool) -> list[bool]:
    """Move each item's schedule to `until` (its queue lease), in parallel; per item whether it was taken
    (False: gone, or with `due_only` no longer due: another run or a refresh took it)."""
    condition = "attribute_exists(pk)"
    if due_only:
        condition += " AND attribute_exists(gsi2pk) AND next_refresh_at <= :now"
    calls = [
        {
            "TableName": table().name,
            "Key": to_wire(_key(ref.tenant, ref.domain_id)),
            "UpdateExpression": f"SET {_SCHEDULE}",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_wire(
                {
                    **_schedule_values(ref.tenant, ref.domain_id, until),
                    **({":now": ts(now)} if due_only else {}),
                }
            ),
        }
        for ref in refs
    ]
    return conditional_updates(calls)


def due(shard: int, now: datetime, limit: int, after: str | None = None) -> tuple[list[WhoisRef], str | None]:
    """Items of one shard due by `now` in schedule order, continuing after the gsi2 sort key `after`
    (`db.due_page`)."""

    def tenant_of(account: str, environment: str) -> Tenant:
        return Tenant(account_id=account, environment=Environment(environment))

    entries, last = due_page(
        t.whois_due_pk(shard),
        now,
        limit,
        after,
        lambda account, environment, domain_id: _key(tenant_of(account, environment), domain_id),
    )
    found = [
        WhoisRef(tenant_of(account, environment), domain_id, str(item["domain"]))
        for account, environment, domain_id, item in entries
    ]
    return found, last


def record(
    tenant: Tenant,
    state: WhoisState,
    revision: int,
    next_refresh_at: datetime,
    event: Event | None = None,
) -> bool:
    """Write a lookup's outcome (and its event) on the revision read, while the domain still exists
    under that id; False when either condition failed (another lookup wrote first, or the domain went)."""
    account, env = tenant.account_id, tenant.environment
    values = {
        **_create_values(state),
        ":state": state.model_dump_json(),
        ":read": revision,
        ":next": revision + 1,
        **_schedule_values(tenant, state.domain_id, next_refresh_at),
    }
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(_key(tenant, state.domain_id)),
                "UpdateExpression": f"SET #type = :type, domain_id = :id, #domain = :name, #state = :state, "
                f"revision = :next, {_SCHEDULE}",
                "ConditionExpression": "attribute_not_exists(revision) OR revision = :read",
                "ExpressionAttributeNames": _CREATE_NAMES,
                "ExpressionAttributeValues": to_wire(values),
            }
        },
        {
            "ConditionCheck": {
                "TableName": table().name,
                "Key": to_wire(key(t.tenant_pk(account, env), t.domain_sk(state.domain))),
                "ConditionExpression": "attribute_exists(pk) AND id = :id",
                "ExpressionAttributeValues": to_wire({":id": state.domain_id}),
            }
        },
    ]
    if event is not None:
        items.append(
            {
                "Put": {
                    "TableName": table().name,
                    "Item": to_wire(event_item(event)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    return transact_reasons(items) is None
