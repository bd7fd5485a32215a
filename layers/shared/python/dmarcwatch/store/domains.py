"""Monitored domains of a tenant.

Item layout:
- domain:   pk=TENANT#<acct>#<env> sk=DOMAIN#<ascii name>   (sorted by name for listing and prefix search)
- id alias: pk=TENANT#<acct>#<env> sk=DOMAINID#<dom_id>    -> name (lookups by id)
- counter:  pk=TENANT#<acct>#<env> sk=META                 domain_count, kept in the same transactions
            so the plan's allowance is enforced without counting items.

Proof of ownership (review L1: a verification must not last for ever), on the domain item:
`verified_at` (set by `mark_verified`) and `verification_checked_at`, when the token was last seen again
(written with a scan's summary fields, or by `confirm_verification` when the account verifies again).
When the DNS says authoritatively that the token is gone, `drop_verification` removes both. Shared-address
routing trusts only a verification granted or confirmed recently (`tenants_monitoring`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import portfolio_metrics as metrics
from dmarcwatch import table as t
from dmarcwatch.events import Event
from dmarcwatch.models import Domain, DomainStatus, Environment, Tenant, utcnow
from dmarcwatch.store import events as event_store
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store import reports as report_store
from dmarcwatch.store.db import (
    from_wire,
    is_conditional_failure,
    key,
    low_level,
    parse_ts,
    query_items,
    query_pages,
    set_counter_if,
    table,
    to_wire,
    transact,
    transact_reasons,
    ts,
)

# A transaction holds at most 100 items: per domain its item, its id alias and its three facet members
# (no folder, not a favourite, active), plus the domain counter and the three facet counts.
_DOMAINS_PER_TRANSACTION = 19


class AllowanceExceeded(Exception):
    pass


@dataclass(frozen=True)
class DomainPage:
    items: list[Domain]
    # The sort key to continue after (the last returned item's), or None at the end.
    after: str | None


def _pk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def _item(tenant: Tenant, domain: Domain) -> dict[str, Any]:
    return {
        **key(_pk(tenant), t.domain_sk(domain.name)),
        "type": "domain",
        "gsi1pk": t.domain_name_index_pk(domain.name),
        "gsi1sk": f"{tenant.account_id}#{tenant.environment.value}",
        "id": domain.id,
        "name": domain.name,
        "unicode_name": domain.unicode_name,
        "status": domain.status.value,
        "created_at": ts(domain.created_at),
        "updated_at": ts(domain.updated_at),
        "verification_token": domain.verification_token,
        "verified_at": ts(domain.verified_at),
        **_fields(domain),
    }


# The portfolio fields the account sets (PATCH /domains/{id}), with the facet index's lock.
PORTFOLIO_FIELDS = ("folder_id", "is_favorite", "tags", "notes", "custom_label")


def _fields(domain: Domain) -> dict[str, Any]:
    return {**{f: getattr(domain, f) for f in PORTFOLIO_FIELDS}, "rev": domain.rev}


def _from(item: dict[str, Any]) -> Domain:
    return Domain.model_validate(
        {
            **item,
            "created_at": parse_ts(item["created_at"]),
            "updated_at": parse_ts(item["updated_at"]),
            "verified_at": parse_ts(item.get("verified_at")),
            "last_scan_at": parse_ts(item.get("last_scan_at")),
            "next_scan_at": parse_ts(item.get("next_scan_at")),
            "registration_expires_at": parse_ts(item.get("registration_expires_at")),
        }
    )


def domain_count(tenant: Tenant) -> int:
    item = table().get_item(Key=key(_pk(tenant), t.TENANT_META_SK), ConsistentRead=True).get("Item")
    return int(item.get("domain_count", 0)) if item else 0


def domain_count_and_counter(tenant: Tenant, counter_pk: str, counter_sk: str) -> tuple[int, int]:
    """The tenant's domain count and one counter's hits (`store.counters`), in one consistent BatchGetItem:
    the account summary's two figures for the price of one call."""
    wanted = {(_pk(tenant), t.TENANT_META_SK): "domain_count", (counter_pk, counter_sk): "hits"}
    request: dict[str, Any] = {
        table().name: {"Keys": [to_wire(key(pk, sk)) for pk, sk in wanted], "ConsistentRead": True}
    }
    found: dict[tuple[str, str], int] = {}
    while request:
        response = low_level().batch_get_item(RequestItems=request)
        for item in response["Responses"].get(table().name, []):
            where = (item["pk"]["S"], item["sk"]["S"])
            found[where] = int(item.get(wanted[where], {}).get("N", 0))
        request = response.get("UnprocessedKeys") or {}
    return found.get((_pk(tenant), t.TENANT_META_SK), 0), found.get((counter_pk, counter_sk), 0)


def existing_statuses(tenant: Tenant, names: Iterable[str]) -> dict[str, str]:
    """The names of these the tenant has a domain item for, with its status (removed ones included)."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, str] = {}
    client = low_level()
    for start in range(0, len(wanted), 100):
        keys = [to_wire(key(_pk(tenant), t.domain_sk(n))) for n in wanted[start : start + 100]]
        request: dict[str, Any] = {
            table().name: {
                "Keys": keys,
                "ProjectionExpression": "#n, #s",
                "ExpressionAttributeNames": {"#n": "name", "#s": "status"},
            }
        }
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table().name, []):
                found[item["name"]["S"]] = item.get("status", {}).get("S", DomainStatus.ACTIVE.value)
            request = response.get("UnprocessedKeys") or {}
    return found


def _counter_update(tenant: Tenant, delta: int, allowance: int | None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table().name,
        "Key": to_wire(key(_pk(tenant), t.TENANT_META_SK)),
        "UpdateExpression": "ADD domain_count :d",
        "ExpressionAttributeValues": to_wire({":d": delta}),
    }
    if allowance is not None and delta > 0:
        update["ConditionExpression"] = "attribute_not_exists(domain_count) OR domain_count <= :max"
        update["ExpressionAttributeValues"] = to_wire({":d": delta, ":max": allowance - delta})
    return {"Update": update}


def _insert_chunk(tenant: Tenant, domains: list[Domain], allowance: int) -> list[str] | None:
    items: list[dict[str, Any]] = []
    for domain in domains:
        # A new active domain is on the rescan schedule from the start, due at once: the scans a bulk add
        # does not queue itself are picked up by the dispatcher's next run.
        schedule = (
            t.scan_schedule(
                tenant.account_id, tenant.environment.value, domain.name, str(ts(domain.created_at))
            )
            if domain.status == DomainStatus.ACTIVE
            else {}
        )
        items.append(
            {
                "Put": {
                    "TableName": table().name,
                    "Item": to_wire({**_item(tenant, domain), **schedule}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        items.append(
            {
                "Put": {
                    "TableName": table().name,
                    "Item": to_wire({**key(_pk(tenant), t.domain_id_sk(domain.id)), "name": domain.name}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    items.extend(facet_store.change_items(tenant, [(None, d) for d in domains]))
    items.append(_counter_update(tenant, len(domains), allowance))
    return transact_reasons(items)


def insert_domains(
    tenant: Tenant, domains: list[Domain], allowance: int
) -> tuple[list[Domain], list[Domain]]:
    """Insert new domains; returns (added, already existing).

    Chunks go in one transaction each. When a chunk is cancelled (a concurrent insert of the same
    name, or the allowance), it is retried domain by domain so one conflict never fails the others.
    Raises AllowanceExceeded only if nothing could be added for that reason.
    """
    added: list[Domain] = []
    existing: list[Domain] = []
    over_allowance = False
    for start in range(0, len(domains), _DOMAINS_PER_TRANSACTION):
        chunk = domains[start : start + _DOMAINS_PER_TRANSACTION]
        if _insert_chunk(tenant, chunk, allowance) is None:
            added.extend(chunk)
            continue
        # A condition failed: retry one by one to tell "exists" from "over the allowance" by the reasons
        # (conflicts and throttling are retried inside transact_reasons, never reported as "existing").
        for domain in chunk:
            reasons = _insert_chunk(tenant, [domain], allowance)
            if reasons is None:
                added.append(domain)
            elif reasons[-1] == "ConditionalCheckFailed":
                over_allowance = True
            else:
                existing.append(domain)
    if over_allowance and not added:
        raise AllowanceExceeded()
    return added, existing


def get_by_name(tenant: Tenant, name: str) -> Domain | None:
    item = table().get_item(Key=key(_pk(tenant), t.domain_sk(name)), ConsistentRead=True).get("Item")
    return _from(item) if item else None


def get_by_id(tenant: Tenant, domain_id: str) -> Domain | None:
    alias = table().get_item(Key=key(_pk(tenant), t.domain_id_sk(domain_id)), ConsistentRead=True).get("Item")
    return get_by_name(tenant, alias["name"]) if alias else None


def _domain_query(
    tenant: Tenant, search: str | None, equals: dict[str, str] | None, exclude_removed: bool = True
) -> dict[str, Any]:
    """The Query of the tenant's domains whose name contains `search` and whose `equals` attributes match
    (without the removed ones unless `exclude_removed` is false: the caller knows there are none)."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": _pk(tenant), ":sk": "DOMAIN#"},
    }
    # Removed domains are listed only when asked for (through the facet index, `status:removed`).
    filters: list[str] = []
    names: dict[str, str] = {}
    if exclude_removed:
        filters.append("#st <> :removed")
        names["#st"] = "status"
        query["ExpressionAttributeValues"][":removed"] = DomainStatus.REMOVED.value
    if search:
        filters.append("(contains(#n, :q) OR contains(unicode_name, :q))")
        names["#n"] = "name"
        query["ExpressionAttributeValues"][":q"] = search
    for i, (attribute, value) in enumerate((equals or {}).items()):
        filters.append(f"#e{i} = :e{i}")
        names[f"#e{i}"] = attribute
        query["ExpressionAttributeValues"][f":e{i}"] = value
    if filters:
        query["FilterExpression"] = " AND ".join(filters)
        query["ExpressionAttributeNames"] = names
    return query


def count_matching(
    tenant: Tenant, *, search: str | None, equals: dict[str, str] | None = None, exclude_removed: bool = True
) -> int:
    """How many of the tenant's domains a filtered listing holds: the same Query with Select=COUNT, read
    to the end (DynamoDB reads, and bills, the tenant's domain items; no item is returned)."""
    query = {**_domain_query(tenant, search, equals, exclude_removed), "Select": "COUNT"}
    return sum(int(page["Count"]) for page in query_pages(query))


def list_page(
    tenant: Tenant,
    *,
    limit: int,
    search: str | None,
    after: str | None,
    equals: dict[str, str] | None = None,
    exclude_removed: bool = True,
) -> DomainPage:
    """Up to `limit` domains in name order whose name contains `search`.

    A filtered query can return short pages, so this reads on until the page is full, and the cursor
    is the key of the last item returned (not DynamoDB's LastEvaluatedKey), so no item is skipped.
    """
    items: list[Domain] = []
    query = _domain_query(tenant, search, equals, exclude_removed)
    query["Limit"] = max(limit, 25)
    cursor = key(_pk(tenant), after) if after else None
    while True:
        if cursor:
            query["ExclusiveStartKey"] = cursor
        response = table().query(**query)
        for item in response["Items"]:
            items.append(_from(item))
            if len(items) == limit:
                more = item is not response["Items"][-1] or "LastEvaluatedKey" in response
                return DomainPage(items, str(item["sk"]) if more else None)
        cursor = response.get("LastEvaluatedKey")
        if not cursor:
            return DomainPage(items, None)


def list_by_facets(
    tenant: Tenant,
    driver: str,
    *,
    limit: int,
    after: str | None,
    accept: Callable[[Domain], bool],
) -> DomainPage:
    """Up to `limit` domains in name order among the members of facet value `driver` that `accept` takes,
    continuing after the domain sort key `after`. Reads the members a page at a time and the domains of
    each page in one BatchGetItem, on until the page is full."""
    items: list[Domain] = []
    position = after.removeprefix("DOMAIN#") if after else None
    while True:
        names, more = facet_store.member_names(tenant, driver, after=position, limit=max(limit, 100))
        found = get_many(tenant, names)
        for name in names:
            domain = found.get(name)
            if domain is not None and accept(domain):
                items.append(domain)
                if len(items) == limit:
                    rest = more or name != names[-1]
                    return DomainPage(items, t.domain_sk(name) if rest else None)
        if not more or not names:
            return DomainPage(items, None)
        position = names[-1]


def set_status(tenant: Tenant, domain: Domain, status: DomainStatus, now: datetime) -> bool:
    """Change the status (and its facet); False when the domain changed meanwhile or is gone."""
    after = domain.model_copy(update={"status": status, "updated_at": now})
    return update_fields(tenant, domain, after, {"status": status.value})


def update_fields(
    tenant: Tenant,
    before: Domain,
    after: Domain,
    values: dict[str, Any],
    *,
    folder_must_exist: str | None = None,
) -> bool:
    """Write `values` (attribute -> value; None removes it) and `updated_at` onto the domain, moving its
    facet members and counts from `before` to `after`, in one transaction guarded by the domain's `rev`
    (so two concurrent changes cannot both move the same members). With `folder_must_exist`, that folder
    must still exist (a folder deleted meanwhile takes no new domains). False when a condition failed."""
    items = _change_items(tenant, before, after, values)
    if folder_must_exist is not None:
        items.append(
            {
                "ConditionCheck": {
                    "TableName": table().name,
                    "Key": to_wire(key(_pk(tenant), t.folder_sk(folder_must_exist))),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )
    return transact(items)


def _change_items(
    tenant: Tenant, before: Domain, after: Domain, values: dict[str, Any]
) -> list[dict[str, Any]]:
    """The guarded update of the domain item and the facet and counter items that move with it."""
    names = {f"#v{i}": field for i, field in enumerate(values)}
    sets = [f"#v{i} = :v{i}" for i, v in enumerate(values.values()) if v is not None]
    removes = [f"#v{i}" for i, v in enumerate(values.values()) if v is None]
    wire = {f":v{i}": v for i, v in enumerate(values.values()) if v is not None}
    expression = "SET " + ", ".join([*sets, "updated_at = :u", "rev = :next"])
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(key(_pk(tenant), t.domain_sk(before.name))),
                "UpdateExpression": expression,
                "ConditionExpression": _rev_condition(before),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_wire(
                    {**wire, ":u": ts(after.updated_at), ":rev": before.rev, ":next": before.rev + 1}
                ),
            }
        },
        *facet_store.change_items(tenant, [(before, after)], _moving_stats(tenant, before, after)),
    ]


def remove(tenant: Tenant, domain: Domain, now: datetime) -> bool:
    """Mark the domain removed: off the schedule, out of the counters and lists, one domain freed of the
    plan's allowance; its item and data stay until the purge. False if it changed meanwhile."""
    after = domain.model_copy(update={"status": DomainStatus.REMOVED, "removed_at": now, "updated_at": now})
    values = {"status": DomainStatus.REMOVED.value, "removed_at": ts(now), **_UNSCHEDULED}
    return transact([*_change_items(tenant, domain, after, values), _counter_update(tenant, -1, None)])


# Attributes a removed domain drops: its place on the rescan schedule.
_UNSCHEDULED: dict[str, Any] = {"gsi2pk": None, "gsi2sk": None, "next_scan_at": None}


def restore(tenant: Tenant, domain: Domain, allowance: int, now: datetime) -> str | None:
    """Bring a removed domain back, active and due for a scan at once, within the plan's allowance: None
    when restored, "allowance" or "changed" (nothing written)."""
    after = domain.model_copy(update={"status": DomainStatus.ACTIVE, "removed_at": None, "updated_at": now})
    if after.folder_id is not None and not _exists(tenant, t.folder_sk(after.folder_id)):
        after = after.model_copy(update={"folder_id": None})  # its folder was deleted meanwhile
    schedule = t.scan_schedule(tenant.account_id, tenant.environment.value, domain.name, str(ts(now)))
    values = {
        "status": DomainStatus.ACTIVE.value,
        "removed_at": None,
        "folder_id": after.folder_id,
        **schedule,
    }
    reasons = transact_reasons(
        [*_change_items(tenant, domain, after, values), _counter_update(tenant, 1, allowance)]
    )
    if reasons is None:
        return None
    return "allowance" if reasons[-1] == "ConditionalCheckFailed" else "changed"


def _exists(tenant: Tenant, sk: str) -> bool:
    return "Item" in table().get_item(Key=key(_pk(tenant), sk), ProjectionExpression="pk")


def _moving_stats(tenant: Tenant, before: Domain, after: Domain | None) -> dict[str, metrics.Daily]:
    """The domain's recent daily statistics when its dashboard scopes change (they move with it)."""
    if after is not None and metrics.scopes_of(before) == metrics.scopes_of(after):
        return {}
    return {before.id: recent_daily_stats(tenant, before.id, utcnow())}


def _rev_condition(domain: Domain) -> str:
    """The item exists and is at the revision `domain` was read at (`:rev`)."""
    if domain.rev == 0:
        return "attribute_exists(pk) AND (attribute_not_exists(rev) OR rev = :rev)"
    return "attribute_exists(pk) AND rev = :rev"


def get_many(tenant: Tenant, names: list[str]) -> dict[str, Domain]:
    """The tenant's domains of these names (consistent BatchGetItem), by name; missing ones left out."""
    found: dict[str, Domain] = {}
    for start in range(0, len(names), 100):
        keys = [key(_pk(tenant), t.domain_sk(n)) for n in names[start : start + 100]]
        request: dict[str, Any] = {table().name: {"Keys": [to_wire(k) for k in keys], "ConsistentRead": True}}
        while request:
            response = low_level().batch_get_item(RequestItems=request)
            for raw in response["Responses"].get(table().name, []):
                item = from_wire(raw)
                found[str(item["name"])] = _from(item)
            request = response.get("UnprocessedKeys") or {}
    return found


def mark_verified(tenant: Tenant, domain: Domain, at: datetime, event: Event | None = None) -> bool:
    """Record the verification once, with its `domain.verified` event in the same transaction; False if
    it was already verified (or the domain is gone), and then no event is written either."""
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(key(_pk(tenant), t.domain_sk(domain.name))),
                "UpdateExpression": "SET verified_at = :at",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(verified_at)",
                "ExpressionAttributeValues": to_wire({":at": ts(at)}),
            }
        }
    ]
    if event is not None:
        items.append(_event_put(event))
    return transact(items)


def _event_put(event: Event) -> dict[str, Any]:
    return {"Put": {"TableName": table().name, "Item": to_wire(event_store.event_item(event))}}


def confirm_verification(tenant: Tenant, name: str, verified_at: datetime, at: datetime) -> bool:
    """Record that the token of the verification granted at `verified_at` was seen at `at`; False if the
    domain holds no such verification any more."""
    try:
        table().update_item(
            Key=key(_pk(tenant), t.domain_sk(name)),
            UpdateExpression="SET verification_checked_at = :checked",
            ConditionExpression="verified_at = :at",
            ExpressionAttributeValues={":at": ts(verified_at), ":checked": ts(at)},
        )
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


def drop_verification(tenant: Tenant, name: str, verified_at: datetime, event: Event) -> bool:
    """Withdraw the proof of ownership granted at `verified_at` (its token is gone, `dns.ownership`), with
    its `domain.unverified` event in the same transaction; False (and no event) if it is not that one any
    more, so a verification made meanwhile is never undone."""
    return transact(
        [
            {
                "Update": {
                    "TableName": table().name,
                    "Key": to_wire(key(_pk(tenant), t.domain_sk(name))),
                    "UpdateExpression": "REMOVE verified_at, verification_checked_at",
                    "ConditionExpression": "verified_at = :at",
                    "ExpressionAttributeValues": to_wire({":at": ts(verified_at)}),
                }
            },
            _event_put(event),
        ]
    )


def delete(tenant: Tenant, domain: Domain) -> bool:
    """Delete the domain, its id alias, its facet members and one from the counters (a removed domain
    left the domain count when it was removed); False if it was already gone or changed since it was
    read."""
    items: list[dict[str, Any]] = [
        {
            "Delete": {
                "TableName": table().name,
                "Key": to_wire(key(_pk(tenant), t.domain_sk(domain.name))),
                "ConditionExpression": _rev_condition(domain),
                "ExpressionAttributeValues": to_wire({":rev": domain.rev}),
            }
        },
        {"Delete": {"TableName": table().name, "Key": to_wire(key(_pk(tenant), t.domain_id_sk(domain.id)))}},
        *facet_store.change_items(tenant, [(domain, None)], _moving_stats(tenant, domain, None)),
    ]
    if domain.status != DomainStatus.REMOVED:
        items.append(_counter_update(tenant, -1, None))
    return transact(items)


def tenants_monitoring(name: str, *, verified_since: datetime | None) -> list[Tenant]:
    """Every tenant with a domain item for `name` (gsi1; used for reports sent to the shared address).

    With `verified_since`, only those whose proof of ownership was granted or last confirmed at or after
    it: the later of `verified_at` and `verification_checked_at`. Pages through the index (review L6)."""
    query: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :pk",
        "ExpressionAttributeValues": {":pk": t.domain_name_index_pk(name)},
    }
    tenants = []
    for item in query_items(query):
        if item.get("status") == DomainStatus.REMOVED.value:
            continue
        if verified_since is not None and not _verified_since(item, verified_since):
            continue
        account_id, _, environment = str(item["gsi1sk"]).partition("#")
        tenants.append(Tenant(account_id=account_id, environment=Environment(environment)))
    return tenants


def _verified_since(item: dict[str, Any], since: datetime) -> bool:
    verified_at = parse_ts(item.get("verified_at"))
    if verified_at is None:
        return False
    checked_at = parse_ts(item.get("verification_checked_at"))
    return max(verified_at, checked_at or verified_at) >= since


def all_domains(tenant: Tenant) -> list[Domain]:
    """Every domain item of the tenant (the nightly reconciliation's full read)."""
    query = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {":pk": _pk(tenant), ":sk": "DOMAIN#"},
        "ConsistentRead": True,
    }
    return [_from(item) for item in query_items(query)]


def recent_daily_stats(tenant: Tenant, domain_id: str, today: datetime) -> metrics.Daily:
    """The domain's messages and DMARC passes per day over the dashboard's window (STATS_DAYS)."""
    start = (today.date() - timedelta(days=metrics.STATS_DAYS)).isoformat()
    rows = report_store.daily_stats(tenant, domain_id, start, today.date().isoformat())
    return {row["day"]: (int(row["messages"]), int(row["dmarc_pass"])) for row in rows}


def reconciled_at(tenant: Tenant) -> datetime | None:
    item = table().get_item(Key=key(_pk(tenant), t.TENANT_META_SK)).get("Item") or {}
    return parse_ts(item.get("reconciled_at"))


def mark_reconciled(tenant: Tenant, at: datetime) -> None:
    table().update_item(
        Key=key(_pk(tenant), t.TENANT_META_SK),
        UpdateExpression="SET reconciled_at = :at",
        ExpressionAttributeValues={":at": ts(at)},
    )


def correct_domain_count(tenant: Tenant, stored: int, counted: int) -> bool:
    """Set the tenant's `domain_count` to `counted` if it still holds `stored` (the reconciliation)."""
    return set_counter_if(key(_pk(tenant), t.TENANT_META_SK), "domain_count", stored, counted)
