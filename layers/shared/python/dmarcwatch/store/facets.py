"""The facet index of the domain list (see `dmarcwatch.facets`).

Item layout:
- member: pk=TENANT#<acct>#<env>#FACET#<facet value>  sk=<domain a-label>   `domain_id`
- count:  pk=TENANT#<acct>#<env>                      sk=FACETCOUNT#<facet value>   `domains`

Members sort by name like the tenant's domain items, so a filtered page continues after a name as the
unfiltered one does. Every change of a domain's facets writes its members and counts in the transaction
that changes the domain (the callers in `store.domains` add these items to theirs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from dmarcwatch import portfolio_metrics as metrics
from dmarcwatch import table as t
from dmarcwatch.facets import facets_of
from dmarcwatch.models import Domain, Tenant
from dmarcwatch.store.db import key, low_level, query_items, table, to_wire


def _member_key(tenant: Tenant, facet: str, name: str) -> dict[str, str]:
    return key(t.facet_pk(tenant.account_id, tenant.environment, facet), name)


def _count_key(tenant: Tenant, facet: str) -> dict[str, str]:
    return key(t.tenant_pk(tenant.account_id, tenant.environment), t.facet_count_sk(facet))


def _put_member(tenant: Tenant, facet: str, domain: Domain) -> dict[str, Any]:
    item = {**_member_key(tenant, facet, domain.name), "domain_id": domain.id}
    return {"Put": {"TableName": table().name, "Item": to_wire(item)}}


def _delete_member(tenant: Tenant, facet: str, name: str) -> dict[str, Any]:
    return {"Delete": {"TableName": table().name, "Key": to_wire(_member_key(tenant, facet, name))}}


def counter_updates(tenant: Tenant, deltas: dict[str, Counter[str]]) -> list[dict[str, Any]]:
    """One ADD per counter item (facet value or dashboard scope) with every attribute that changes."""
    updates = []
    for facet, counts in sorted(deltas.items()):
        changed = sorted((name, value) for name, value in counts.items() if value)
        if not changed:
            continue
        updates.append(
            {
                "Update": {
                    "TableName": table().name,
                    "Key": to_wire(_count_key(tenant, facet)),
                    "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(changed))),
                    "ExpressionAttributeNames": {f"#a{i}": name for i, (name, _) in enumerate(changed)},
                    "ExpressionAttributeValues": to_wire({f":a{i}": v for i, (_, v) in enumerate(changed)}),
                }
            }
        )
    return updates


def change_items(
    tenant: Tenant,
    changes: list[tuple[Domain | None, Domain | None]],
    daily: dict[str, metrics.Daily] | None = None,
) -> list[dict[str, Any]]:
    """The member puts and deletes and the counter updates for domains going from `before` to `after`
    (None: absent), aggregated so each counter item is updated once (a transaction names an item once).

    Folder and tag values (and `all`) carry the dashboard counters of `portfolio_metrics`, whose
    `domains` is their member count; the favourite and status values count their members only. `daily`
    (by domain id) is the recent daily statistics of domains whose scopes change, which move with them."""
    items: list[dict[str, Any]] = []
    counters = metrics.deltas(changes, daily)
    for before, after in changes:
        old = facets_of(before) if before is not None else frozenset()
        new = facets_of(after) if after is not None else frozenset()
        if before is not None:
            items += [_delete_member(tenant, f, before.name) for f in sorted(old - new)]
        if after is not None:
            items += [_put_member(tenant, f, after) for f in sorted(new - old)]
        for facet in old - new:
            if facet.startswith(_COUNT_ONLY):
                counters.setdefault(facet, Counter())[metrics.DOMAINS] -= 1
        for facet in new - old:
            if facet.startswith(_COUNT_ONLY):
                counters.setdefault(facet, Counter())[metrics.DOMAINS] += 1
    return items + counter_updates(tenant, counters)


# Facet values that count their members only (the others are dashboard scopes, see portfolio_metrics).
_COUNT_ONLY = ("favorite:", "status:")


def counts(tenant: Tenant, facets: Iterable[str]) -> dict[str, int]:
    """How many domains each facet value holds (one consistent BatchGetItem of up to 100 values)."""
    wanted = list(dict.fromkeys(facets))
    found = dict.fromkeys(wanted, 0)
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        request: dict[str, Any] = {
            table().name: {"Keys": [to_wire(_count_key(tenant, f)) for f in chunk], "ConsistentRead": True}
        }
        while request:
            response = low_level().batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table().name, []):
                facet = item["sk"]["S"].removeprefix("FACETCOUNT#")
                found[facet] = int(item.get("domains", {}).get("N", 0))
            request = response.get("UnprocessedKeys") or {}
    return found


def counts_with_prefix(tenant: Tenant, prefix: str) -> dict[str, int]:
    """Every facet value starting with `prefix` (e.g. `tag:`) with its count, zero counts left out."""
    query = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {
            ":pk": t.tenant_pk(tenant.account_id, tenant.environment),
            ":sk": t.facet_count_sk(prefix),
        },
    }
    out: dict[str, int] = {}
    for item in query_items(query):
        count = int(item.get("domains", 0))
        if count > 0:
            out[str(item["sk"]).removeprefix("FACETCOUNT#")] = count
    return out


def counters(tenant: Tenant, facet: str) -> dict[str, int]:
    """Every counter of one facet value or dashboard scope (consistent read; empty when none)."""
    item = table().get_item(Key=_count_key(tenant, facet), ConsistentRead=True).get("Item") or {}
    return {name: int(value) for name, value in item.items() if name not in ("pk", "sk")}


def members_among(tenant: Tenant, facet: str, names: Iterable[str]) -> set[str]:
    """Which of `names` are members of the facet value (BatchGetItem of their member keys)."""
    wanted = list(dict.fromkeys(names))
    found: set[str] = set()
    for start in range(0, len(wanted), 100):
        keys = [to_wire(_member_key(tenant, facet, n)) for n in wanted[start : start + 100]]
        request: dict[str, Any] = {table().name: {"Keys": keys, "ProjectionExpression": "sk"}}
        while request:
            response = low_level().batch_get_item(RequestItems=request)
            found.update(i["sk"]["S"] for i in response["Responses"].get(table().name, []))
            request = response.get("UnprocessedKeys") or {}
    return found


def member_names(tenant: Tenant, facet: str, *, after: str | None, limit: int) -> tuple[list[str], bool]:
    """Up to `limit` member names of a facet value in name order after `after`; and whether more follow."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": t.facet_pk(tenant.account_id, tenant.environment, facet)},
        "ProjectionExpression": "sk",
        "Limit": limit,
    }
    if after:
        query["ExclusiveStartKey"] = _member_key(tenant, facet, after)
    response = table().query(**query)
    return [str(i["sk"]) for i in response["Items"]], "LastEvaluatedKey" in response
