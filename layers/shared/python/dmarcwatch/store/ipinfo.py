"""The per-IP enrichment cache (public facts, not tenant data), expiring by TTL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from dmarcwatch import table as t
from dmarcwatch.store.db import key, low_level, table, to_wire

_SK = "IPINFO"


def get_many(ips: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    client = low_level()
    for start in range(0, len(ips), 100):
        request: dict[str, Any] = {
            table().name: {"Keys": [to_wire(key(t.ip_info_pk(ip), _SK)) for ip in ips[start : start + 100]]}
        }
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table().name, []):
                found[item["pk"]["S"].removeprefix("IPINFO#")] = json.loads(item["info"]["S"])
            request = response.get("UnprocessedKeys") or {}
    return found


def put_many(entries: list[tuple[str, dict[str, Any]]], expires: datetime) -> None:
    with table().batch_writer() as batch:
        for ip, info in entries:
            batch.put_item(
                Item={
                    **key(t.ip_info_pk(ip), _SK),
                    "info": json.dumps(info),
                    t.TABLE.ttl_attribute: int(expires.timestamp()),
                }
            )
