"""What ingesting one DMARC report costs in DynamoDB, over in-process moto (S3 -> parse -> DynamoDB).

For reports of 1,000, 10,000 and 100,000 records (`BENCH_RECORDS`, comma-separated) and for two source
mixes (`BENCH_SOURCES`: `distinct` = every record a different IP, `one` = every record the same IP), it
prints per report:

- DynamoDB requests by operation (counted at botocore's before-call, retries included);
- write units as DynamoDB bills them, computed here from the request parameters: per item written
  ceil(size / 1 KB), twice that inside TransactWriteItems; an update is billed at the larger of the stored
  item (the last size this run wrote for that key) and what the update itself names (moto's
  ConsumedCapacity is not billing-accurate, so it is not used);
- read units from the items returned: ceil(size / 4 KB) per item read by GetItem/BatchGetItem, per
  request's total for Query; half of that for eventually consistent reads;
- the modelled DynamoDB wall time (model printed with the figures);
- the same for a replay of the same mail (a duplicate delivery), and the cost of reading the day's
  sources back (the source listing's merge).

Item sizes follow DynamoDB's rules (attribute names + values; numbers as about one byte per two digits).
moto's own time is printed too, for comparing runs on one machine; it is not DynamoDB's.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for name, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "DMARCWATCH_DNS_NAMESERVERS": "127.0.0.1",
    "DMARCWATCH_DNS_PORT": "9",
}.items():
    os.environ[name] = value

SIZES = [int(n) for n in os.environ.get("BENCH_RECORDS", "1000,10000,100000").split(",") if n]
MIXES = [m for m in os.environ.get("BENCH_SOURCES", "distinct,one").split(",") if m]

# The latency model: one request at a time, except the marked statistics transactions, which run
# `aggregate_parallelism` at a time (waves). Figures are typical in-region DynamoDB latencies.
SINGLE_MS = 10.0  # GetItem, PutItem, UpdateItem, Query, BatchGetItem, BatchWriteItem
TRANSACTION_MS = 25.0  # TransactWriteItems
# DynamoDB's write limit per partition: one partition key's writes cannot go faster than this.
PARTITION_WCU_PER_SECOND = 1000

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON, by DynamoDB's sizing rules."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_value_size({"N": n}) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _key_of(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


@dataclass
class Meter:
    """Counts the DynamoDB requests of the clients it is attached to, with their write and read units."""

    parallelism: int
    requests: Counter[str] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    marked_batches: int = 0
    by_partition: Counter[str] = field(default_factory=Counter)
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self.before)
        client.meta.events.register("after-call.dynamodb", self.after)

    def _charge(self, item_key: dict[str, Any], size: int, factor: int = 1) -> None:
        units = factor * math.ceil(size / 1024)
        self.write_units += units
        self.by_partition[item_key["pk"]["S"]] += units

    def _put(self, item: dict[str, Any], factor: int = 1) -> None:
        size = item_size(item)
        self.sizes[_key_of(item)] = size
        self._charge(item, size, factor)

    def _update(self, request: dict[str, Any], factor: int = 1) -> None:
        named = item_size(request["Key"]) + sum(
            len(n.encode()) for n in request.get("ExpressionAttributeNames", {}).values()
        )
        named += sum(_value_size(v) for v in request.get("ExpressionAttributeValues", {}).values())
        self._charge(request["Key"], max(named, self.sizes.get(_key_of(request["Key"]), 0)), factor)

    def _delete(self, item_key: dict[str, Any], factor: int = 1) -> None:
        self._charge(item_key, self.sizes.get(_key_of(item_key), 1), factor)

    def before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        body = json.loads(params.get("body") or b"{}")
        context["bench_request"] = body
        with self.lock:
            self.requests[operation] += 1
            if operation == "PutItem":
                self._put(body["Item"])
            elif operation == "UpdateItem":
                self._update(body)
            elif operation == "DeleteItem":
                self._delete(body["Key"])
            elif operation == "BatchWriteItem":
                for requests in body["RequestItems"].values():
                    for request in requests:
                        if "PutRequest" in request:
                            self._put(request["PutRequest"]["Item"])
                        else:
                            self._delete(request["DeleteRequest"]["Key"])
            elif operation == "TransactWriteItems":
                marked = False
                for entry in body["TransactItems"]:
                    if "Put" in entry:
                        self._put(entry["Put"]["Item"], 2)
                        marked = marked or "#APPLIED#" in entry["Put"]["Item"]["pk"]["S"]
                    elif "Update" in entry:
                        self._update(entry["Update"], 2)
                    elif "Delete" in entry:
                        self._delete(entry["Delete"]["Key"], 2)
                self.marked_batches += marked

    def after(self, model: Any, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        # The raw body: the resource layer may already have turned `parsed` into Python values.
        parsed = json.loads(http_response.content or b"{}")
        request = context.get("bench_request") or {}
        factor = 1.0 if request.get("ConsistentRead") else 0.5
        units = 0.0
        if model.name == "GetItem":
            units = factor * max(1, math.ceil(item_size(parsed.get("Item") or {}) / 4096))
        elif model.name == "Query":
            total = sum(item_size(i) for i in parsed.get("Items", []))
            units = factor * max(1, math.ceil(total / 4096))
        elif model.name == "BatchGetItem":
            units = sum(
                0.5 * max(1, math.ceil(item_size(i) / 4096))
                for items in parsed.get("Responses", {}).values()
                for i in items
            )
        with self.lock:
            self.read_units += units

    def snapshot(self) -> Cost:
        with self.lock:
            return Cost(
                Counter(self.requests),
                self.write_units,
                self.read_units,
                self.marked_batches,
                self.parallelism,
                Counter(self.by_partition),
            )

    def since(self, mark: Cost) -> Cost:
        now = self.snapshot()
        return Cost(
            now.requests - mark.requests,
            now.write_units - mark.write_units,
            now.read_units - mark.read_units,
            now.marked_batches - mark.marked_batches,
            self.parallelism,
            now.by_partition - mark.by_partition,
        )


@dataclass
class Cost:
    requests: Counter[str]
    write_units: float
    read_units: float
    marked_batches: int
    parallelism: int
    by_partition: Counter[str]

    def modelled_seconds(self) -> float:
        transactions = self.requests["TransactWriteItems"]
        single = sum(self.requests.values()) - transactions
        waves = math.ceil(self.marked_batches / self.parallelism)
        return (single * SINGLE_MS + (transactions - self.marked_batches + waves) * TRANSACTION_MS) / 1000

    def lines(self, title: str) -> list[str]:
        total = sum(self.requests.values())
        writes = sum(v for k, v in self.requests.items() if k in _WRITES)
        by_operation = ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items()))
        lines = [
            f"  {title}: {total} requests ({writes} writes), {self.write_units:,.0f} WCU, "
            f"{self.read_units:,.1f} RCU, modelled {self.modelled_seconds():.2f} s",
            f"    {by_operation or 'none'}",
        ]
        if self.by_partition:
            busiest = max(self.by_partition.values())
            floor = busiest / PARTITION_WCU_PER_SECOND
            lines.append(
                f"    busiest partition key: {busiest:,.0f} WCU (>= {floor:.1f} s at "
                f"{PARTITION_WCU_PER_SECOND:,} WCU/s per partition, before adaptive capacity splits it)"
            )
        return lines


def _rows(records: int, mix: str) -> list[Any]:
    from tests.support.reports import Row

    def ip(i: int) -> str:
        return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" if mix == "distinct" else "192.0.2.1"

    return [Row(ip(i), 1 + i % 7, "pass" if i % 3 else "fail") for i in range(records)]


def run(records: int, mix: str) -> list[str]:
    from moto import mock_aws

    from dmarcwatch.config import get_settings
    from dmarcwatch.ingest import pipeline
    from dmarcwatch.local import moto_responses, moto_transactions
    from dmarcwatch.local.bootstrap import bootstrap
    from dmarcwatch.models import Environment, Tenant
    from dmarcwatch.plans import PlanName, get_plan
    from dmarcwatch.services import accounts, admin, domains
    from dmarcwatch.store import aws, blobs, db
    from dmarcwatch.store import reports as report_store
    from tests.support.reports import aggregate_xml, report_mail

    # As the tests and the local stack do: thread-safe transactions and moto's slow paths skipped.
    moto_transactions.apply()
    moto_responses.apply()
    with mock_aws():
        aws.reset()
        bootstrap()
        created = admin.create_account(
            f"bench-{uuid.uuid4().hex}@example.com", PlanName.ENTERPRISE, None, 365
        )
        tenant = Tenant(account_id=created.account.id, environment=Environment.LIVE)
        domains.add_domains(tenant, get_plan(PlanName.ENTERPRISE), ["example.com"])
        domain_id = domains.resolve(tenant, "example.com").id
        address = accounts.inbound_address(created.account, Environment.LIVE)
        raw = report_mail(address, aggregate_xml("example.com", _rows(records, mix), report_id="bench"))
        key = f"inbound/raw/bench/{uuid.uuid4().hex}"
        blobs.put_raw(key, raw, {"recipients": address})  # the envelope, as our SMTP stand-in stores it

        meter = Meter(get_settings().aggregate_parallelism)
        meter.attach(aws.client("dynamodb"))
        meter.attach(db.table().meta.client)

        mark = meter.snapshot()
        start = time.perf_counter()
        outcome = pipeline.ingest_object(key)
        moto_seconds = time.perf_counter() - start
        first = meter.since(mark)
        assert outcome.stored, outcome
        assert outcome.stored[0].record_count == records

        mark = meter.snapshot()
        again = pipeline.ingest_object(key)
        replay = meter.since(mark)
        assert again.duplicates
        assert not again.stored

        mark = meter.snapshot()
        rows = report_store.sources_for_days(tenant, domain_id, ["2026-01-01"])
        read = meter.since(mark)
        assert len({row["ip"] for row in rows}) == (records if mix == "distinct" else 1)

    sources = records if mix == "distinct" else 1
    return [
        f"{records:,} records, {sources:,} distinct source(s) on one day "
        f"({len(raw):,} bytes of mail; moto took {moto_seconds:.1f} s)",
        *first.lines("first ingest"),
        *replay.lines("replay (same mail again)"),
        *read.lines("reading the day's sources"),
    ]


def main() -> None:
    from dmarcwatch.config import get_settings

    parallelism = get_settings().aggregate_parallelism
    out = sys.stdout
    out.write(
        f"model: {SINGLE_MS:.0f} ms per single request (GetItem, PutItem, UpdateItem, Query, BatchGetItem, "
        f"BatchWriteItem), {TRANSACTION_MS:.0f} ms per TransactWriteItems; requests run one after another "
        f"except the marked statistics transactions, {parallelism} in flight (aggregate_parallelism). "
        "WCU: ceil(item KB) per item written, x2 in a transaction; RCU: ceil(4 KB units), x0.5 if "
        "eventually consistent. The busiest partition key's write units over 1,000 WCU/s bound the time "
        "from below whatever the parallelism.\n"
    )
    for records in SIZES:
        for mix in MIXES:
            for line in run(records, mix):
                out.write(line + "\n")
            out.flush()


if __name__ == "__main__":
    main()
