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

from botocore.exceptions import ClientError

from dmarcwatch import portfolio_metrics as metrics
from dmarcwatch import table as t
from dmarcwatch.facets import facets_of
from dmarcwatch.models import Domain, Tenant
from dmarcwatch.store.db import is_conditional_failure, key, low_level, query_items, table, to_wire, transact


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
    for before, after in changes:
        old = facets_of(before) if before is not None else frozenset()
        new = facets_of(after) if after is not None else frozenset()
        if before is not None:
            items += [_delete_member(tenant, f, before.name) for f in sorted(old - new)]
        if after is not None:
            items += [_put_member(tenant, f, after) for f in sorted(new - old)]
    return items + counter_updates(tenant, counter_deltas(changes, daily))


def counter_deltas(
    changes: list[tuple[Domain | None, Domain | None]], daily: dict[str, metrics.Daily] | None = None
) -> dict[str, Counter[str]]:
    """Per counter item (facet value or dashboard scope), what the changes add to it (see change_items);
    from (None, domain) for every domain, what the counters should hold."""
    counters = metrics.deltas(changes, daily)
    for before, after in changes:
        old = facets_of(before) if before is not None else frozenset()
        new = facets_of(after) if after is not None else frozenset()
        for facet in old - new:
            if facet.startswith(_COUNT_ONLY):
                counters.setdefault(facet, Counter())[metrics.DOMAINS] -= 1
        for facet in new - old:
            if facet.startswith(_COUNT_ONLY):
                counters.setdefault(facet, Counter())[metrics.DOMAINS] += 1
    return counters


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


# --- reconciliation ---------------------------------------------------------------------------------------


def all_counters(tenant: Tenant) -> dict[str, dict[str, int]]:
    """Every counter item of the tenant (consistent), by facet value or scope."""
    query = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
        "ExpressionAttributeValues": {
            ":pk": t.tenant_pk(tenant.account_id, tenant.environment),
            ":sk": t.facet_count_sk(""),
        },
        "ConsistentRead": True,
    }
    return {
        str(item["sk"]).removeprefix(t.facet_count_sk("")): {
            name: int(value) for name, value in item.items() if name not in ("pk", "sk")
        }
        for item in query_items(query)
    }


def all_members(tenant: Tenant, facet: str) -> set[str]:
    query = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": t.facet_pk(tenant.account_id, tenant.environment, facet)},
        "ProjectionExpression": "sk",
        "ConsistentRead": True,
    }
    return {str(item["sk"]) for item in query_items(query)}


def _domain_unchanged(tenant: Tenant, domain: Domain | None, name: str) -> dict[str, Any]:
    """A condition that the domain item is still as read: at its revision, or still absent."""
    check: dict[str, Any] = {
        "TableName": table().name,
        "Key": to_wire(key(t.tenant_pk(tenant.account_id, tenant.environment), t.domain_sk(name))),
    }
    if domain is None:
        check["ConditionExpression"] = "attribute_not_exists(pk)"
    elif domain.rev == 0:
        check["ConditionExpression"] = "attribute_exists(pk) AND (attribute_not_exists(rev) OR rev = :rev)"
        check["ExpressionAttributeValues"] = to_wire({":rev": 0})
    else:
        check["ConditionExpression"] = "rev = :rev"
        check["ExpressionAttributeValues"] = to_wire({":rev": domain.rev})
    return {"ConditionCheck": check}


def repair_member(tenant: Tenant, facet: str, name: str, domain: Domain | None) -> bool:
    """Add the missing member of `domain` (or, with None, drop a member whose domain is gone or not in
    the facet: pass the domain as read, or None when absent) unless the domain changed since it was
    read. False when it changed (the next run looks again)."""
    if domain is not None and facet in facets_of(domain):
        change = _put_member(tenant, facet, domain)
    else:
        change = _delete_member(tenant, facet, name)
    return transact([change, _domain_unchanged(tenant, domain, name)])


# Attributes corrected per conditional update (each names its old value in the condition).
_CORRECTIONS_PER_UPDATE = 25


def correct_counters(tenant: Tenant, facet: str, stored: dict[str, int], expected: dict[str, int]) -> int:
    """Set the counter item's attributes that differ from `expected` (removing those expected to be zero),
    each on the condition that it still holds the value read, so a concurrent write is never undone
    (that chunk is left for the next run). Returns how many wrong attributes were corrected."""
    wrong = {n for n in set(stored) | set(expected) if stored.get(n, 0) != expected.get(n, 0)}
    # Counters that moves brought to zero are tidied away too (not counted as corrections).
    touched = sorted(wrong | {n for n in stored if stored[n] == 0 and expected.get(n, 0) == 0})
    corrected = 0
    for start in range(0, len(touched), _CORRECTIONS_PER_UPDATE):
        chunk = touched[start : start + _CORRECTIONS_PER_UPDATE]
        names = {f"#a{i}": n for i, n in enumerate(chunk)}
        values: dict[str, Any] = {}
        sets, removes, conditions = [], [], []
        for i, name in enumerate(chunk):
            if name in stored:
                conditions.append(f"#a{i} = :o{i}")
                values[f":o{i}"] = stored[name]
            else:
                conditions.append(f"attribute_not_exists(#a{i})")
            if expected.get(name, 0):
                sets.append(f"#a{i} = :n{i}")
                values[f":n{i}"] = expected[name]
            else:
                removes.append(f"#a{i}")
        clauses = [("SET", sets), ("REMOVE", removes)]
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)
        update: dict[str, Any] = {
            "Key": _count_key(tenant, facet),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            update["ExpressionAttributeValues"] = values
        try:
            table().update_item(**update)
        except ClientError as error:
            if not is_conditional_failure(error):
                raise
            continue
        corrected += len(wrong.intersection(chunk))
    return corrected
