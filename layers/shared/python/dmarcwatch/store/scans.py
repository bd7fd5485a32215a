"""Scan results, change history and rescan scheduling in DynamoDB.

- latest scan: pk=TENANT#…, sk=SCAN#<dom_id>: the full result as JSON, the previous value and change
  time of every changed field, and `scan_count`, the optimistic lock that keeps two concurrent scans
  from both recording the same change.
- history:     pk=TENANT#…#CHANGES#<dom_id>, sk=<detected_at>#<chg_id>: field, old, new.
- schedule:    the domain item's gsi2 keys (SCANDUE#<shard>, <next scan time>#…) while it is active.
- selectors:   pk=TENANT#…, sk=DKIMSEL#<dom_id>: `seen`, a map of the DKIM selectors seen in the
  domain's DMARC reports to when they were last seen, and `found`, a map of the selectors scans found in
  the DNS to when. Reports come from anyone, so selectors are normalised (`dkim_selector`), at most
  `SELECTORS_PER_CALL` are taken from one report, and only the `SELECTORS_KEPT` most recently seen are
  kept: the item stays around 20 KB whatever is sent. Items of the older format (a string set
  `selectors`) are converted on their first write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from dmarcwatch import table as t
from dmarcwatch.dkim_selector import normalize_selector
from dmarcwatch.models import Domain, Environment, Tenant, utcnow
from dmarcwatch.store.db import (
    due_page,
    from_wire,
    is_conditional_failure,
    key,
    low_level,
    table,
    to_wire,
    transact,
    ts,
)


@dataclass(frozen=True)
class LatestScan:
    result: dict[str, Any]
    previous: dict[str, dict[str, Any]]
    scan_count: int
    scanned_at: str


@dataclass(frozen=True)
class ChangeRow:
    id: str
    field: str
    old: str | None
    new: str | None
    detected_at: str


@dataclass(frozen=True)
class DueDomain:
    tenant: Tenant
    name: str
    domain_id: str


def _tpk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def shard_of(tenant: Tenant, name: str) -> int:
    return t.scan_shard(tenant.account_id, tenant.environment.value, name)


def latest(tenant: Tenant, domain_id: str) -> LatestScan | None:
    item = table().get_item(Key=key(_tpk(tenant), t.scan_sk(domain_id)), ConsistentRead=True).get("Item")
    return _latest_from(item) if item else None


def _latest_from(item: dict[str, Any]) -> LatestScan:
    return LatestScan(
        result=json.loads(item["result"]),
        previous=json.loads(item.get("previous") or "{}"),
        scan_count=int(item.get("scan_count", 0)),
        scanned_at=str(item.get("scanned_at", "")),
    )


def latest_many(tenant: Tenant, domain_ids: list[str]) -> dict[str, LatestScan]:
    """The latest scans of many domains by domain id (BatchGetItem, 100 keys a request); domains never
    scanned are absent."""
    found: dict[str, LatestScan] = {}
    wanted = list(dict.fromkeys(domain_ids))
    for start in range(0, len(wanted), 100):
        keys = [to_wire(key(_tpk(tenant), t.scan_sk(d))) for d in wanted[start : start + 100]]
        request: dict[str, Any] = {table().name: {"Keys": keys}}
        while request:
            response = low_level().batch_get_item(RequestItems=request)
            for wire in response["Responses"].get(table().name, []):
                item = from_wire(wire)
                found[str(item["sk"]).removeprefix(t.scan_sk(""))] = _latest_from(item)
            request = response.get("UnprocessedKeys") or {}
    return found


# A scan result comes from a zone its tenant controls (TXT records, an SPF tree): bounded before it is
# written, so no zone can make the scan item outgrow DynamoDB's 400 KB (review H1).
RESULT_BUDGET = 250_000
PREVIOUS_BUDGET = 80_000
CHANGE_VALUE_BUDGET = 4_000


def _shrunk(value: Any, text: int, items: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= text else value[:text] + "…"
    if isinstance(value, list):
        return [_shrunk(v, text, items) for v in value[:items]]
    if isinstance(value, dict):
        return {k: _shrunk(v, text, items) for k, v in value.items()}
    return value


def bounded_json(document: str, budget: int, *, keep: tuple[str, ...] = ()) -> str:
    """`document` (a JSON object) as is when within `budget` characters, else with long texts and lists
    cut (and `"truncated": true` when `keep` names fields, which are all a last-resort stub keeps)."""
    if len(document) <= budget:
        return document
    parsed = json.loads(document)
    for text, items in ((1_000, 100), (200, 20)):
        shrunk = _shrunk(parsed, text, items)
        if keep:
            shrunk["truncated"] = True
        encoded = json.dumps(shrunk)
        if len(encoded) <= budget:
            return encoded
    stub = {name: parsed[name] for name in keep if name in parsed}
    return json.dumps({**stub, "truncated": True} if keep else stub)


def _bounded_value(value: str | None) -> str | None:
    return value if value is None or len(value) <= CHANGE_VALUE_BUDGET else value[:CHANGE_VALUE_BUDGET] + "…"


def record_scan(
    tenant: Tenant,
    domain: Domain,
    *,
    result_json: str,
    summary: dict[str, Any],
    previous: dict[str, dict[str, Any]],
    expected_count: int,
    changes: list[ChangeRow],
    events: list[dict[str, Any]],
    scanned_at: datetime,
    release_lease: bool = False,
    counter_items: list[dict[str, Any]] | None = None,
) -> bool:
    """Write the new latest result, its changes and events, and the domain's summary fields, atomically;
    with `release_lease` (a scan from the queue) the domain's queue lease ends with it.

    False when another scan of the same domain committed first (the caller's diff is stale).
    """
    name = table().name
    counter_items = counter_items or []
    items: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": name,
                "Item": to_wire(
                    {
                        **key(_tpk(tenant), t.scan_sk(domain.id)),
                        "type": "scan",
                        "domain_id": domain.id,
                        "result": bounded_json(result_json, RESULT_BUDGET, keep=("domain", "scanned_at")),
                        "previous": bounded_json(json.dumps(previous), PREVIOUS_BUDGET),
                        "scan_count": expected_count + 1,
                        "scanned_at": ts(scanned_at),
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR scan_count = :n",
                "ExpressionAttributeValues": to_wire({":n": expected_count}),
            }
        },
        {
            "Update": {
                "TableName": name,
                "Key": to_wire(key(_tpk(tenant), t.domain_sk(domain.name))),
                "UpdateExpression": "SET "
                + ", ".join(f"#f{i} = :f{i}" for i in range(len(summary)))
                + ", last_scan_at = :at, rev = :next"
                + (" REMOVE queued_until" if release_lease else ""),
                # The summary moves the domain's dashboard counters (`counter_items`): guarded by the
                # revision they were computed from, as every change of them is.
                "ConditionExpression": "attribute_exists(pk) AND "
                + ("(attribute_not_exists(rev) OR rev = :rev)" if domain.rev == 0 else "rev = :rev"),
                "ExpressionAttributeNames": {f"#f{i}": field for i, field in enumerate(summary)},
                "ExpressionAttributeValues": to_wire(
                    {
                        **{f":f{i}": value for i, value in enumerate(summary.values())},
                        ":at": ts(scanned_at),
                        ":rev": domain.rev,
                        ":next": domain.rev + 1,
                    }
                ),
            }
        },
        *counter_items,
    ]
    pk = t.changes_pk(tenant.account_id, tenant.environment, domain.id)
    for change in changes:
        item = {
            **key(pk, f"{change.detected_at}#{change.id}"),
            "type": "change",
            "id": change.id,
            "field": change.field,
            "old": _bounded_value(change.old),
            "new": _bounded_value(change.new),
            "detected_at": change.detected_at,
        }
        items.append({"Put": {"TableName": name, "Item": to_wire(item)}})
    items.extend({"Put": {"TableName": name, "Item": to_wire(event)}} for event in events)
    # 100 items per transaction: a scan that changes more than ~90 fields is cut to the first ones.
    return transact(items[:100])


def list_changes(
    tenant: Tenant, domain_id: str, *, limit: int, before: str | None
) -> tuple[list[ChangeRow], str | None]:
    """Newest first. `before` is the sort key of the last change returned before."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": t.changes_pk(tenant.account_id, tenant.environment, domain_id)},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if before:
        query["ExclusiveStartKey"] = key(query["ExpressionAttributeValues"][":pk"], before)
    response = table().query(**query)
    rows = [
        ChangeRow(str(i["id"]), str(i["field"]), i.get("old"), i.get("new"), str(i["detected_at"]))
        for i in response["Items"]
    ]
    cursor = str(response["Items"][-1]["sk"]) if rows and "LastEvaluatedKey" in response else None
    return rows, cursor


def schedule(tenant: Tenant, domain: Domain, next_scan_at: datetime) -> None:
    """Make the domain due at `next_scan_at` (sparse gsi2 keys)."""
    keys = t.scan_schedule(tenant.account_id, tenant.environment.value, domain.name, str(ts(next_scan_at)))
    table().update_item(
        Key=key(_tpk(tenant), t.domain_sk(domain.name)),
        UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk, next_scan_at = :at",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":pk": keys["gsi2pk"], ":sk": keys["gsi2sk"], ":at": keys["next_scan_at"]},
    )


def unschedule(tenant: Tenant, domain: Domain) -> None:
    try:
        table().update_item(
            Key=key(_tpk(tenant), t.domain_sk(domain.name)),
            UpdateExpression="REMOVE gsi2pk, gsi2sk, next_scan_at",
            ConditionExpression="attribute_exists(pk)",
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise


def due(
    shard: int, now: datetime, limit: int, after: str | None = None
) -> tuple[list[DueDomain], str | None]:
    """Due domains of one shard in schedule order, continuing after the gsi2 sort key `after`
    (`db.due_page`)."""
    entries, last = due_page(
        t.scan_due_pk(shard),
        now,
        limit,
        after,
        lambda account, environment, name: key(t.tenant_pk(account, environment), t.domain_sk(name)),
    )
    found = [
        DueDomain(Tenant(account_id=account, environment=Environment(environment)), name, str(item["id"]))
        for account, environment, name, item in entries
    ]
    return found, last


# Selectors taken from one report, selectors kept per domain (the most recently seen), and selectors kept
# as found in the DNS (the most recently found).
SELECTORS_PER_CALL = 20
SELECTORS_KEPT = 200
FOUND_SELECTORS_KEPT = 50
# How stale a "found" time may get before a scan that finds the selector again rewrites it.
FOUND_REFRESH = timedelta(days=7)
# The "last seen" of selectors converted from the older format, which kept no times.
_UNDATED = "1970-01-01T00:00:00+00:00"
_LEGACY_ATTRIBUTE = "selectors"


@dataclass(frozen=True)
class SelectorHistory:
    """What is known of a domain's DKIM selectors: selector -> when last seen in a report / found in DNS."""

    seen: dict[str, str]
    found: dict[str, str]

    def ranked(self) -> list[str]:
        """Selectors found in the DNS (most recently found first), then the others most recently seen
        first: the order in which a scan's limited number of extra selectors is filled."""

        def newest_first(times: dict[str, str], names: list[str]) -> list[str]:
            return sorted(sorted(names), key=lambda name: times[name], reverse=True)

        found = newest_first(self.found, list(self.found))
        others = newest_first(self.seen, [name for name in self.seen if name not in self.found])
        return found + others


def _selectors_key(tenant: Tenant, domain_id: str) -> dict[str, str]:
    return key(_tpk(tenant), t.dkim_selectors_sk(domain_id))


def _normalized(selectors: set[str]) -> list[str]:
    names = {name for raw in selectors if isinstance(raw, str) and (name := normalize_selector(raw))}
    return sorted(names)


def _remember(
    tenant: Tenant, domain_id: str, attribute: str, names: list[str], at: datetime, keep: int
) -> None:
    """Set `attribute`[name] = at for each name, then drop the oldest entries beyond `keep`."""
    if not names:
        return
    item_key = _selectors_key(tenant, domain_id)
    stamp = at.astimezone(UTC).isoformat()
    try:
        stored = _set_entries(item_key, attribute, names, stamp, must_exist=True)
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        stored = _start_map(item_key, attribute, names, stamp, keep)
    if len(stored) > keep:
        oldest = sorted(sorted(stored), key=lambda name: stored[name])[: len(stored) - keep]
        drop = {f"#d{i}": name for i, name in enumerate(oldest)}
        table().update_item(
            Key=item_key,
            UpdateExpression="REMOVE " + ", ".join(f"#m.{p}" for p in drop),
            ExpressionAttributeNames={"#m": attribute, **drop},
        )


def _set_entries(
    item_key: dict[str, str], attribute: str, names: list[str], stamp: str, *, must_exist: bool
) -> dict[str, str]:
    """Set `attribute`[name] = stamp for each name in the existing map; the whole map afterwards."""
    placeholders = {f"#s{i}": name for i, name in enumerate(names)}
    request: dict[str, Any] = {
        "Key": item_key,
        "UpdateExpression": "SET " + ", ".join(f"#m.{p} = :at" for p in placeholders),
        "ExpressionAttributeNames": {"#m": attribute, **placeholders},
        "ExpressionAttributeValues": {":at": stamp},
        "ReturnValues": "ALL_NEW",
    }
    if must_exist:
        request["ConditionExpression"] = "attribute_exists(#m)"
    stored: dict[str, str] = table().update_item(**request)["Attributes"][attribute]
    return stored


def _start_map(
    item_key: dict[str, str], attribute: str, names: list[str], stamp: str, keep: int
) -> dict[str, str]:
    """The first write of `attribute`: a new map, holding (for `seen`) the selectors of the older string
    set format as undated, which is then removed. Another writer starting it first is not an error: the
    entries are then set into its map."""
    item = table().get_item(Key=item_key, ConsistentRead=True).get("Item") or {}
    start: dict[str, str] = {}
    names_map = {"#m": attribute}
    update = "SET #m = :map"
    if attribute == "seen" and _LEGACY_ATTRIBUTE in item:
        legacy = _normalized(set(item[_LEGACY_ATTRIBUTE]))
        start = dict.fromkeys(legacy[:keep], _UNDATED)
        update += " REMOVE #legacy"
        names_map["#legacy"] = _LEGACY_ATTRIBUTE
    start.update(dict.fromkeys(names, stamp))
    try:
        table().update_item(
            Key=item_key,
            UpdateExpression=update,
            ConditionExpression="attribute_not_exists(#m)",
            ExpressionAttributeNames=names_map,
            ExpressionAttributeValues={":map": start},
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        return _set_entries(item_key, attribute, names, stamp, must_exist=False)
    return start


def add_dkim_selectors(
    tenant: Tenant, domain_id: str, selectors: set[str], *, at: datetime | None = None
) -> None:
    """Remember selectors seen in a report of the domain: normalised (invalid ones dropped), at most
    `SELECTORS_PER_CALL` of them, each with `at` (default now) as its last-seen time."""
    names = _normalized(selectors)[:SELECTORS_PER_CALL]
    _remember(tenant, domain_id, "seen", names, at or utcnow(), SELECTORS_KEPT)


def remember_found_dkim_selectors(
    tenant: Tenant, domain_id: str, selectors: set[str], history: SelectorHistory, at: datetime
) -> None:
    """Record the selectors a scan found in the DNS, skipping those `history` shows as found recently."""
    fresh = ts(at - FOUND_REFRESH) or ""
    names = [name for name in _normalized(selectors) if history.found.get(name, "") < fresh]
    _remember(tenant, domain_id, "found", names, at, FOUND_SELECTORS_KEPT)


def dkim_selector_history(tenant: Tenant, domain_id: str) -> SelectorHistory:
    item = table().get_item(Key=_selectors_key(tenant, domain_id)).get("Item") or {}
    seen = {str(name): str(stamp) for name, stamp in (item.get("seen") or {}).items()}
    for name in _normalized(set(item.get(_LEGACY_ATTRIBUTE, set()))):
        seen.setdefault(name, _UNDATED)
    found = {str(name): str(stamp) for name, stamp in (item.get("found") or {}).items()}
    return SelectorHistory(seen=seen, found=found)


def dkim_selectors(tenant: Tenant, domain_id: str) -> set[str]:
    """Every selector remembered as seen in the domain's reports."""
    return set(dkim_selector_history(tenant, domain_id).seen)
