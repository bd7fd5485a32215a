"""Per-source statistics stored once per report and day (issue 13 §5): replays write nothing twice, the
largest report stays within DynamoDB's item limit, and source items of the earlier per-IP layout are
still read, merged and purged."""

from __future__ import annotations

import ipaddress
import json
import random
from typing import Any

import pytest

from dmarcwatch import table as t
from dmarcwatch.ingest import pipeline
from dmarcwatch.models import COUNTERS, Tenant, utcnow
from dmarcwatch.services import domains
from dmarcwatch.services import reports as report_service
from dmarcwatch.store import db
from dmarcwatch.store import reports as store
from dmarcwatch.store.purge import purge_domain
from tests.integration.ingest_support import stored_report
from tests.integration.ingest_support import tenant_fixture as tenant_fixture
from tests.support.reports import Row, aggregate_xml, deliver, report_mail

DAY = "2026-01-01"
ROWS = [Row("192.0.2.1", 10), Row("192.0.2.2", 5, dkim="fail"), Row("198.51.100.9", 2, "fail", "fail")]


def _partition(pk: str) -> list[dict[str, Any]]:
    return db.table().query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk})["Items"]


def _source_items(tenant: Tenant, domain_id: str) -> list[dict[str, Any]]:
    return _partition(t.report_sources_pk(tenant.account_id, tenant.environment, domain_id, DAY))


def _counts(messages: int, passed: int) -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0) | {
        "messages": messages,
        "dmarc_pass": passed,
        "dmarc_fail": messages - passed,
        "disposition_none": messages,
    }


def test_one_report_writes_its_sources_once_in_one_item_per_day(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant
    domain = domains.resolve(live, "example.com")
    raw = report_mail(address, aggregate_xml("example.com", ROWS))
    first = pipeline.ingest_object(deliver(raw))
    items = _source_items(live, domain.id)
    assert [(i["sk"], i["parts"]) for i in items] == [(f"{first.stored[0].id}#0000", 1)]
    written: list[int] = []
    monkeypatch.setattr(store, "put_report_sources", lambda *args: written.append(1) or 0)
    replay = pipeline.ingest_object(deliver(raw))  # the same report mailed again
    assert len(replay.duplicates) == 1
    assert written == []  # nothing of a counted report is written again
    assert _source_items(live, domain.id) == items
    by_ip = {row["ip"]: row for row in store.sources_for_days(live, domain.id, [DAY])}
    assert {ip: row["messages"] for ip, row in by_ip.items()} == {
        "192.0.2.1": 10,
        "192.0.2.2": 5,
        "198.51.100.9": 2,
    }


def test_reports_of_one_day_are_merged_per_source(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    domain = domains.resolve(live, "example.com")
    pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    other = [Row("192.0.2.1", 7), Row("203.0.113.5", 1)]
    pipeline.ingest_object(
        deliver(report_mail(address, aggregate_xml("example.com", other, report_id="r-2")))
    )
    assert len(_source_items(live, domain.id)) == 2
    rows = store.sources_for_days(live, domain.id, [DAY, "2026-01-02"])
    assert sorted((r["ip"], r["day"], r["messages"]) for r in rows) == [
        ("192.0.2.1", DAY, 17),
        ("192.0.2.2", DAY, 5),
        ("198.51.100.9", DAY, 2),
        ("203.0.113.5", DAY, 1),
    ]


def _addresses(count: int) -> list[str]:
    """Distinct IPv6 and IPv4 addresses in random order: the least compressible a report can send."""
    rng = random.Random(13)
    v6 = {str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(count // 2)}
    v4 = {str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(count - len(v6))}
    return sorted(v6 | v4)


def test_a_report_with_100000_distinct_sources_stays_within_the_item_limit(
    tenant: tuple[Tenant, str],
) -> None:
    live, _ = tenant
    domain = domains.resolve(live, "example.com")
    ips = _addresses(100_000)
    sources = {(DAY, ip): _counts(1 + n % 1000, n % 1000) for n, ip in enumerate(ips)}
    report = stored_report(live, domain.id, 1)
    items = store.report_source_items(report, sources)
    assert 1 < len(items) < 40
    assert all(db.item_size(i) <= db.ITEM_BUDGET_BYTES for i in items)
    assert all(len(i["rows"]) <= store.SOURCE_PART_BUDGET_BYTES for i in items)
    assert store.report_source_items(report, sources) == items  # a retry writes the same items
    days = {DAY: _counts(sum(c["messages"] for c in sources.values()), 0)}
    assert store.apply_aggregates(report, store.aggregate_updates(report, days, ("x", "MONTH#x")), utcnow())
    assert store.put_report_sources(report, sources) == len(items)
    assert store.put_report_sources(report, sources) == len(items)  # rewritten, not added
    rows = store.sources_for_days(live, domain.id, [DAY])
    assert len(rows) == 100_000
    assert {(r["ip"], r["messages"], r["dmarc_pass"]) for r in rows} == {
        (ip, c["messages"], c["dmarc_pass"]) for (_, ip), c in sources.items()
    }


def test_sources_of_the_earlier_per_ip_layout_are_still_read_merged_and_purged(
    tenant: tuple[Tenant, str],
) -> None:
    live, address = tenant
    domain = domains.resolve(live, "example.com")
    account, env = live.account_id, live.environment
    # What the earlier ingestion left: a day statistics item and one counter item per (day, IP), sharded.
    legacy = {"192.0.2.1": _counts(4, 4), "203.0.113.7": _counts(3, 0)}
    stats_pk = t.stats_pk(account, env, domain.id)
    db.table().put_item(Item={**db.key(stats_pk, DAY), **_counts(7, 4), "day": DAY})
    for ip, counts in legacy.items():
        pk = t.sources_pk(account, env, domain.id, DAY, t.source_shard(ip))
        db.table().put_item(Item={**db.key(pk, ip), **counts, "day": DAY, "ip": ip})
    pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    rows = {r["ip"]: r for r in store.sources_for_days(live, domain.id, [DAY])}
    assert {ip: (r["messages"], r["dmarc_pass"]) for ip, r in rows.items()} == {
        "192.0.2.1": (14, 14),
        "192.0.2.2": (5, 5),
        "198.51.100.9": (2, 0),
        "203.0.113.7": (3, 0),
    }
    ranked = report_service.sources(live, "example.com", None, DAY)["sources"]
    assert [(s["ip"], s["messages"]) for s in ranked] == [
        ("192.0.2.1", 14),
        ("192.0.2.2", 5),
        ("203.0.113.7", 3),
        ("198.51.100.9", 2),
    ]
    purge_domain(live, domain.id)
    assert _source_items(live, domain.id) == []
    for shard in range(t.SOURCE_SHARDS):
        assert _partition(t.sources_pk(account, env, domain.id, DAY, shard)) == []


def test_record_chunks_are_stored_compressed_and_chunks_of_the_plain_layout_still_read(
    tenant: tuple[Tenant, str],
) -> None:
    live, address = tenant
    rows = [Row(f"10.0.{i // 250}.{i % 250}", 1 + i % 3) for i in range(500)]
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", rows))))
    report = outcome.stored[0]
    chunks = _partition(t.records_pk(live.account_id, live.environment, report.id))
    assert len(chunks) == 3
    assert all("records_z" in c and "records" not in c for c in chunks)
    plain_size = sum(len(json.dumps(store.get_record_chunk(live, report.id, i))) for i in range(3))
    assert sum(db.item_size(c) for c in chunks) * 4 < plain_size
    first_page = store.get_record_chunk(live, report.id, 0)
    assert [r["source_ip"] for r in first_page[:2]] == ["10.0.0.0", "10.0.0.1"]
    # A chunk written before compression (plain JSON in `records`) reads the same.
    db.table().put_item(
        Item={**db.key(chunks[0]["pk"], chunks[0]["sk"]), "first": 0, "records": json.dumps(first_page)}
    )
    assert store.get_record_chunk(live, report.id, 0) == first_page
