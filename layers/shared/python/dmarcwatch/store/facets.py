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


def count_updates(tenant: Tenant, deltas: Counter[str]) -> list[dict[str, Any]]:
    """One ADD per facet value whose count changes."""
    return [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(_count_key(tenant, facet)),
                "UpdateExpression": "ADD domains :d",
                "ExpressionAttributeValues": to_wire({":d": delta}),
            }
        }
        for facet, delta in sorted(deltas.items())
        if delta
    ]


def added_items(tenant: Tenant, domains: Iterable[Domain]) -> list[dict[str, Any]]:
    """The members of new domains and one count update per facet value (for a batch insert)."""
    items: list[dict[str, Any]] = []
    deltas: Counter[str] = Counter()
    for domain in domains:
        for facet in sorted(facets_of(domain)):
            items.append(_put_member(tenant, facet, domain))
            deltas[facet] += 1
    return items + count_updates(tenant, deltas)


def removed_items(tenant: Tenant, domain: Domain) -> list[dict[str, Any]]:
    facets = sorted(facets_of(domain))
    deltas: Counter[str] = Counter()
    deltas.update({f: -1 for f in facets})
    return [_delete_member(tenant, f, domain.name) for f in facets] + count_updates(tenant, deltas)


def transition_items(tenant: Tenant, before: Domain, after: Domain) -> list[dict[str, Any]]:
    """Members to drop and add, and the counts to move, when a domain's facets go from `before` to `after`
    (nothing when they are the same)."""
    old, new = facets_of(before), facets_of(after)
    items = [_delete_member(tenant, f, before.name) for f in sorted(old - new)]
    items += [_put_member(tenant, f, after) for f in sorted(new - old)]
    deltas: Counter[str] = Counter()
    deltas.update({f: -1 for f in old - new})
    deltas.update({f: 1 for f in new - old})
    return items + count_updates(tenant, deltas)


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
