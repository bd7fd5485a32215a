"""Ingestion over moto: routing, storage, exactly-once statistics, pro-rata days and quarantine."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from dmarcwatch.config import get_settings
from dmarcwatch.ingest import pipeline
from dmarcwatch.ingest.aggregates import deltas
from dmarcwatch.models import DomainStatus, Environment, StoredReport, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.reports.extract import extract_reports
from dmarcwatch.reports.models import AggregateReport
from dmarcwatch.services import admin, domains
from dmarcwatch.store import counters, db, events
from dmarcwatch.store import domains as domain_store
from dmarcwatch.store import reports as store
from tests.integration.ingest_support import tenant_fixture as tenant_fixture
from tests.support.reports import Row, aggregate_xml, deliver, report_mail


def stats(tenant: Tenant, day: str = "2026-01-01") -> dict[str, Any]:
    domain = domains.resolve(tenant, "example.com")
    rows = store.daily_stats(tenant, domain.id, day, day)
    return rows[0] if rows else {}


def sources(tenant: Tenant, day: str = "2026-01-01") -> dict[str, dict[str, Any]]:
    domain = domains.resolve(tenant, "example.com")
    return {row["ip"]: row for row in store.sources_for_days(tenant, domain.id, [day])}


ROWS = [
    Row("192.0.2.1", 10),
    Row("192.0.2.2", 5, dkim="fail", spf="pass"),
    Row("198.51.100.9", 2, "fail", "fail", "quarantine"),
]


def test_a_mailed_report_is_stored_with_statistics_sources_and_an_event(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    assert [r.message_count for r in outcome.stored] == [17]
    assert outcome.quarantined == []
    report = outcome.stored[0]
    assert report.id.startswith("rpt_")
    assert (report.record_count, report.dmarc_pass_count) == (3, 15)
    day = stats(live)
    assert (day["messages"], day["dmarc_pass"], day["dmarc_fail"]) == (17, 15, 2)
    assert (day["spf_aligned_pass"], day["dkim_aligned_pass"]) == (15, 10)
    assert (day["disposition_none"], day["disposition_quarantine"], day["disposition_reject"]) == (15, 2, 0)
    by_ip = sources(live)
    assert {ip: row["messages"] for ip, row in by_ip.items()} == {
        "192.0.2.1": 10,
        "192.0.2.2": 5,
        "198.51.100.9": 2,
    }
    assert by_ip["198.51.100.9"]["dmarc_fail"] == 2
    records = store.get_record_chunk(live, report.id, 0)
    assert [r["source_ip"] for r in records] == ["192.0.2.1", "192.0.2.2", "198.51.100.9"]
    assert events.recent_events(live.account_id, "live")[0].payload.type == "report.received"
    assert (
        counters.read(
            counters.reports_counter_subject(live.account_id, "live"),
            "MONTH#" + report.received_at.strftime("%Y-%m"),
        )
        == 1
    )


def test_replays_and_resends_change_no_count(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    raw = report_mail(address, aggregate_xml("example.com", ROWS))
    key = deliver(raw)
    pipeline.ingest_object(key)
    before = (stats(live), sources(live))
    replay = pipeline.ingest_object(key)  # a duplicate S3 event / retried Lambda
    resend = pipeline.ingest_object(deliver(raw))  # the same report mailed again
    assert (replay.stored, resend.stored) == ([], [])
    assert len(replay.duplicates) == len(resend.duplicates) == 1
    assert (stats(live), sources(live)) == before
    month = "MONTH#" + replay.duplicates[0].received_at.strftime("%Y-%m")
    assert counters.read(counters.reports_counter_subject(live.account_id, "live"), month) == 1


def test_a_crash_half_way_through_is_finished_exactly_once_by_the_retry(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    rows = [Row(f"192.0.2.{i}", 1) for i in range(1, 151)]
    key = deliver(report_mail(address, aggregate_xml("example.com", rows)))
    # Simulate a Lambda that completed the report, applied its day totals and wrote two of its three
    # source items (a batch write is not ordered) before dying; the retry runs code that cuts the sources
    # into one item, so the third item of the first run is left over and must not count.
    original = store.put_report_sources

    def die_after_two_source_items(report: StoredReport, by_source: dict[Any, Any]) -> int:
        items = store.report_source_items(report, by_source)
        assert len(items) == 3
        db.table().put_item(Item=items[0])
        db.table().put_item(Item=items[2])
        raise RuntimeError("Lambda timed out")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_SOURCE_PART_RAW_BYTES", 2_000)  # 150 sources in 3 items
        patch.setattr(store, "put_report_sources", die_after_two_source_items)
        patch.setenv("DMARCWATCH_AGGREGATE_PARALLELISM", "1")
        get_settings.cache_clear()
        with pytest.raises(RuntimeError):
            pipeline.ingest_object(key)
        assert stats(live)["messages"] == 150
        patch.setattr(store, "put_report_sources", original)
    get_settings.cache_clear()
    assert sum(row["messages"] for row in sources(live).values()) < 150
    retry = pipeline.ingest_object(key)
    assert [r.message_count for r in retry.stored] == [150]
    assert stats(live)["messages"] == 150
    assert sum(row["messages"] for row in sources(live).values()) == 150
    again = pipeline.ingest_object(key)
    assert len(again.duplicates) == 1
    assert stats(live)["messages"] == 150
    month = "MONTH#" + retry.stored[0].received_at.strftime("%Y-%m")
    assert counters.read(counters.reports_counter_subject(live.account_id, "live"), month) == 1


def test_a_report_spanning_two_days_is_spread_pro_rata(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    # 2026-01-01T12:00:00Z to 2026-01-02T18:00:00Z: 12 h on day one, 18 h on day two (40% / 60%).
    xml = aggregate_xml(
        "example.com", [Row("192.0.2.1", 10), Row("192.0.2.2", 1)], begin=1_767_268_800, end=1_767_376_800
    )
    pipeline.ingest_object(deliver(report_mail(address, xml)))
    first, second = stats(live, "2026-01-01"), stats(live, "2026-01-02")
    assert (first["messages"], second["messages"]) == (4, 7)
    assert sources(live, "2026-01-01")["192.0.2.1"]["messages"] == 4
    assert sources(live, "2026-01-02")["192.0.2.1"]["messages"] == 6
    assert sources(live, "2026-01-02")["192.0.2.2"]["messages"] == 1


def test_pro_rata_split_sums_exactly_for_every_record() -> None:
    xml = aggregate_xml(
        "example.com",
        [Row(f"192.0.2.{i}", i * 7 + 1) for i in range(1, 40)],
        begin=1_767_225_600 + 3600,
        end=1_767_225_600 + 3 * 86_400 - 7200,
    )
    report = extract_reports(xml).reports[0]
    assert isinstance(report, AggregateReport)
    days, srcs = deltas(report)
    assert sorted(days) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert sum(d["messages"] for d in days.values()) == report.message_count
    for day in days.values():
        assert day["dmarc_pass"] + day["dmarc_fail"] == day["messages"]
    for i in range(1, 40):
        assert sum(v["messages"] for (d, ip), v in srcs.items() if ip == f"192.0.2.{i}") == i * 7 + 1


def test_unmonitored_and_inactive_domains_are_quarantined_with_reasons(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    other = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("elsewhere.example", ROWS))))
    assert [q.reason for q in other.quarantined] == ["domain_not_monitored"]
    assert other.quarantined[0].account_id == live.account_id
    domains.set_status(live, "example.com", DomainStatus.INACTIVE)
    paused = pipeline.ingest_object(
        deliver(report_mail(address, aggregate_xml("example.com", ROWS, report_id="r-2")))
    )
    assert [q.reason for q in paused.quarantined] == ["domain_inactive"]
    assert stats(live) == {}
    listed, _ = store.list_quarantine(live, limit=10, after=None)
    assert {q.reason for q in listed} == {"domain_not_monitored", "domain_inactive"}


def test_subdomain_reports_count_under_the_monitored_parent(tenant: tuple[Tenant, str]) -> None:
    _, address = tenant
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("mail.example.com", ROWS))))
    assert outcome.stored[0].domain == "example.com"


def test_broken_reports_quarantine_the_mail_with_the_parser_reason(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    truncated = aggregate_xml("example.com", ROWS)[:-40]
    outcome = pipeline.ingest_object(deliver(report_mail(address, truncated)))
    assert [q.reason for q in outcome.quarantined] == ["xml_truncated"]
    assert outcome.quarantined[0].account_id == live.account_id


def test_shared_address_routes_by_policy_domain_and_unknown_goes_to_the_operator(
    tenant: tuple[Tenant, str],
) -> None:
    live, _ = tenant
    shared = f"dmarc@{get_settings().reports_domain}"
    # Monitoring is not enough for the shared address: the account must have verified the domain.
    unverified = pipeline.ingest_object(deliver(report_mail(shared, aggregate_xml("example.com", ROWS))))
    assert [(q.reason, q.account_id) for q in unverified.quarantined] == [("no_account_for_address", None)]
    domain_store.mark_verified(live, domains.resolve(live, "example.com"), utcnow())
    outcome = pipeline.ingest_object(deliver(report_mail(shared, aggregate_xml("example.com", ROWS))))
    assert [r.account_id for r in outcome.stored] == [live.account_id]
    nobody = pipeline.ingest_object(
        deliver(report_mail(shared, aggregate_xml("nobody-monitors.example", ROWS)))
    )
    assert [(q.reason, q.account_id) for q in nobody.quarantined] == [("no_account_for_address", None)]
    assert store.list_quarantine(None, limit=50, after=None)[0]


def test_the_test_address_delivers_to_the_test_environment_only(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    test_env = Tenant(account_id=live.account_id, environment=Environment.TEST)
    domains.add_domains(test_env, get_plan(PlanName.PRO), ["example.com"])
    test_address = address.replace("@", "+test@")
    outcome = pipeline.ingest_object(
        deliver(report_mail("x@example.net", aggregate_xml("example.com", ROWS)), test_address)
    )
    assert [r.environment for r in outcome.stored] == ["test"]
    assert stats(live) == {}
    assert stats(test_env)["messages"] == 17


def test_the_operator_lists_and_reprocesses_unrouted_mail(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmarcwatch.cli import main

    shared = f"dmarc@{get_settings().reports_domain}"
    outcome = pipeline.ingest_object(deliver(report_mail(shared, aggregate_xml("adopted.example", ROWS))))
    quarantine_id = outcome.quarantined[0].id
    assert main(["admin", "quarantine", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)["unrouted"]
    assert quarantine_id in [entry["id"] for entry in listed]
    # The domain's owner signs up later; the operator re-runs the mail through routing.
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    owner = Tenant(account_id=created.account.id, environment=Environment.LIVE)
    domains.add_domains(owner, get_plan(PlanName.PRO), ["adopted.example"])
    domain_store.mark_verified(owner, domains.resolve(owner, "adopted.example"), utcnow())
    assert main(["admin", "quarantine", "reprocess", "--id", quarantine_id]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["resolved"] is True
    assert len(result["stored"]) == 1
    assert main(["admin", "quarantine", "reprocess", "--id", "qtn_AAAAAAAAAAAAAAAAAAAA"]) == 1
