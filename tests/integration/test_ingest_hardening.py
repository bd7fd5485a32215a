"""Regression tests for the security review's ingestion findings (C1, H1, H4, M1, L2), over moto.

Each test reproduces the attack or fault first: the forged input, the oversized item, the conflicting
transaction.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dmarcwatch.config import get_settings
from dmarcwatch.ingest import pipeline
from dmarcwatch.ingest.aggregates import day_weights
from dmarcwatch.ingest.messages import Envelope
from dmarcwatch.models import (
    COUNTERS,
    ReportStatus,
    StoredReport,
    Tenant,
    utcnow,
)
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import domains
from dmarcwatch.store import aws as aws_clients
from dmarcwatch.store import blobs, counters, db
from dmarcwatch.store import reports as store
from dmarcwatch.store import scans as scan_store
from tests.integration.ingest_support import stored_report
from tests.integration.ingest_support import tenant_fixture as tenant_fixture
from tests.support.reports import Row, aggregate_xml, deliver, report_mail

ROWS = [Row("192.0.2.1", 10), Row("192.0.2.2", 5, dkim="fail")]
# The figure: one domain-day filled with 20,000 reports (about a minute over patched moto).
FILL = 20_000


def all_stats(tenant: Tenant) -> list[dict[str, Any]]:
    domain = domains.resolve(tenant, "example.com")
    return store.daily_stats(tenant, domain.id, "1900-01-01", "2999-12-31")


# --- C1: date ranges -------------------------------------------------------------------------------


def test_a_forged_report_covering_1970_to_2100_is_quarantined_at_once_with_no_statistics(
    tenant: tuple[Tenant, str],
) -> None:
    live, address = tenant
    xml = aggregate_xml("example.com", ROWS * 100, begin=0, end=4_102_444_800)
    started = time.monotonic()
    outcome = pipeline.ingest_object(deliver(report_mail(address, xml)))
    elapsed = time.monotonic() - started
    assert [q.reason for q in outcome.quarantined] == ["date_range_too_old"]
    assert outcome.stored == []
    assert all_stats(live) == []
    assert elapsed < 5  # the issue asks for 1 s; a shared CI machine gets slack (bench prints the time)


@pytest.mark.parametrize(
    ("begin", "end", "reason"),
    [
        (1_767_225_600, 1_767_225_600 + 40 * 86_400, "date_range_too_long"),
        (946_684_799 - 86_400, 946_684_799, "date_range_too_old"),
        (None, None, "date_range_in_future"),
        (1_767_225_600, 253_402_300_799, "date_range_in_future"),  # year 9999: overflowed before the fix
    ],
)
def test_implausible_ranges_have_their_own_reason(
    tenant: tuple[Tenant, str], begin: int | None, end: int | None, reason: str
) -> None:
    live, address = tenant
    if begin is None or end is None:
        soon = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
        begin, end = soon, soon + 86_399
    outcome = pipeline.ingest_object(
        deliver(report_mail(address, aggregate_xml("example.com", ROWS, begin=begin, end=end)))
    )
    assert [q.reason for q in outcome.quarantined] == [reason]
    assert outcome.quarantined[0].account_id == live.account_id
    assert all_stats(live) == []


def test_a_month_long_report_is_accepted_and_spread() -> None:
    begin = datetime(2026, 1, 1, tzinfo=UTC)
    weights = day_weights(begin, begin + timedelta(days=31))
    assert len(weights) == 31
    assert abs(sum(share for _, share in weights) - 1) < 1e-9


def test_day_weights_refuse_an_unbounded_range_without_looping() -> None:
    started = time.process_time()
    with pytest.raises(ValueError, match="longer than"):
        day_weights(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))
    assert time.process_time() - started < 0.05


def test_an_exception_while_building_a_report_quarantines_it_and_the_message_succeeds(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant

    def explode(*_: Any) -> Any:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("dmarcwatch.ingest.forms.deltas", explode)
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    assert [q.reason for q in outcome.quarantined] == ["processing_error"]
    assert "OverflowError" in outcome.quarantined[0].message
    assert all_stats(live) == []


def test_statistics_are_applied_only_after_the_report_is_complete(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant
    seen: list[str] = []
    original = store.apply_aggregates

    def check_complete(report: StoredReport, updates: list[dict[str, Any]], now: datetime) -> int:
        current = store.get_report(live, report.id)
        assert current is not None
        seen.append(current.status.value)
        return original(report, updates, now)

    monkeypatch.setattr(store, "apply_aggregates", check_complete)
    pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    assert seen == ["complete"]


# --- H1: item sizes ----------------------------------------------------------------------------------


def test_twenty_thousand_reports_on_one_domain_day_do_not_grow_its_item(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    domain = domains.resolve(live, "example.com")
    day = "2026-01-01"
    one = dict.fromkeys(COUNTERS, 0) | {"messages": 1, "dmarc_pass": 1}
    subject = counters.reports_counter_subject(live.account_id, "live")
    now = utcnow()
    for n in range(FILL):
        report = stored_report(live, domain.id, n)
        updates = store.aggregate_updates(report, {day: one}, (subject, "MONTH#x"))
        assert store.apply_aggregates(report, updates, now) == 1
    item = db.table().get_item(Key=db.key(f"TENANT#{live.account_id}#live#STATS#{domain.id}", day))["Item"]
    assert int(item["messages"]) == FILL
    assert db.item_size(item) < 1024  # counters only: no set of applied report ids
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    assert len(outcome.stored) == 1
    assert int(db.table().get_item(Key=db.key(item["pk"], day))["Item"]["messages"]) == FILL + 15


def test_a_record_with_seventy_large_dkim_results_is_stored() -> None:
    # Before: one chunk of such records exceeded 400 KB and BatchWriteItem failed, leaving it pending.
    record = {"source_ip": "192.0.2.1", "dkim": [{"domain": "d" * 200, "selector": "s" * 4000}] * 10}
    chunks = store.chunk_records([record] * 200)
    assert len(chunks) > 1
    assert all(len(encoded) <= store.CHUNK_BUDGET_BYTES for _, encoded in chunks)
    assert [first for first, _ in chunks][:2] == [0, chunks[1][0]]


def test_a_single_record_over_the_item_budget_is_refused_before_writing() -> None:
    with pytest.raises(db.ItemTooLarge):
        store.chunk_records([{"source_ip": "192.0.2.1", "dkim": ["x" * 8000] * 70}])


def test_oversized_report_metadata_is_quarantined_as_too_large(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant
    monkeypatch.setattr(db, "ITEM_BUDGET_BYTES", 200)
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    assert [q.reason for q in outcome.quarantined] == ["too_large"]
    assert all_stats(live) == []


def test_size_estimate_is_not_below_the_serialized_size() -> None:
    item = {"pk": "a" * 100, "records": "[" + "x" * 10_000 + "]", "n": 5, "tags": ["a", "b"]}
    assert db.item_size(item) >= len(item["pk"]) + len(item["records"])


# --- H4: cancelled transactions ----------------------------------------------------------------------


def _conflict(reasons: list[str]) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": r} for r in reasons],
        },
        "TransactWriteItems",
    )


def test_a_conflict_on_the_monthly_counter_is_retried_and_both_reports_complete(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant
    client = aws_clients.client("dynamodb")
    original = client.transact_write_items
    conflicts: list[int] = []

    def conflicting(**kwargs: Any) -> Any:
        items = kwargs["TransactItems"]
        touches_counter = any("RATE#reports:" in str(item.get("Update", {}).get("Key", {})) for item in items)
        if touches_counter and len(conflicts) < 3:
            conflicts.append(1)
            raise _conflict(["None", "TransactionConflict"] + ["None"] * (len(items) - 2))
        return original(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", conflicting)
    monkeypatch.setattr(db, "_backoff", lambda attempt: None)
    first = pipeline.ingest_object(
        deliver(report_mail(address, aggregate_xml("example.com", ROWS, report_id="one")))
    )
    second = pipeline.ingest_object(
        deliver(report_mail(address, aggregate_xml("example.com", ROWS, report_id="two")))
    )
    assert len(conflicts) == 3
    assert (len(first.stored), len(second.stored)) == (1, 1)
    listed, _ = store.list_reports(live, limit=10, start=None, end=None, filters={}, after=None)
    assert sorted(r.external_report_id for r in listed) == ["one", "two"]
    assert all(r.status == ReportStatus.COMPLETE and r.aggregates_applied for r in listed)
    month = "MONTH#" + first.stored[0].received_at.strftime("%Y-%m")
    assert counters.read(counters.reports_counter_subject(live.account_id, "live"), month) == 2


def test_only_a_failed_condition_means_no(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client = aws_client = db.low_level()
    calls: list[str] = []

    def fail(reasons: list[str]) -> Any:
        def call(**_: Any) -> Any:
            calls.append("x")
            raise _conflict(reasons)

        return call

    monkeypatch.setattr(db, "_backoff", lambda attempt: None)
    monkeypatch.setattr(client, "transact_write_items", fail(["ConditionalCheckFailed", "None"]))
    assert db.transact([{}]) is False
    monkeypatch.setattr(aws_client, "transact_write_items", fail(["ThrottlingError"]))
    calls.clear()
    with pytest.raises(db.TransactionFailed):
        db.transact([{}])
    assert len(calls) == db.TRANSACT_ATTEMPTS
    monkeypatch.setattr(aws_client, "transact_write_items", fail(["ValidationError"]))
    with pytest.raises(db.TransactionFailed):
        db.transact([{}])


# --- M1: forged and unauthenticated mail ------------------------------------------------------------


def test_a_forged_report_with_the_same_org_and_id_does_not_suppress_the_real_one(
    tenant: tuple[Tenant, str],
) -> None:
    _, address = tenant
    forged = aggregate_xml("example.com", [Row("203.0.113.66", 1)], report_id="123", org="google.com")
    real = aggregate_xml("example.com", ROWS, report_id="123", org="google.com")
    assert len(pipeline.ingest_object(deliver(report_mail(address, forged))).stored) == 1
    genuine = pipeline.ingest_object(deliver(report_mail(address, real)))
    assert len(genuine.stored) == 1
    assert genuine.duplicates == []
    # The same real report delivered again is still a duplicate.
    assert len(pipeline.ingest_object(deliver(report_mail(address, real))).duplicates) == 1


def test_routing_ignores_recipient_headers_the_sender_wrote(tenant: tuple[Tenant, str]) -> None:
    _, address = tenant
    # The To header names the tenant's token, but the trusted envelope (here: none) does not.
    key = f"inbound/raw/test/{uuid.uuid4().hex}"
    blobs.put_raw(key, report_mail(address, aggregate_xml("example.com", ROWS)))
    outcome = pipeline.ingest_object(key)
    assert outcome.stored == []
    assert [(q.reason, q.account_id) for q in outcome.quarantined] == [("no_account_for_address", None)]


@pytest.mark.parametrize(("spam", "virus", "reason"), [("FAIL", "PASS", "spam"), ("PASS", "FAIL", "virus")])
def test_ses_spam_and_virus_verdicts_quarantine_without_opening(
    tenant: tuple[Tenant, str], spam: str, virus: str, reason: str
) -> None:
    live, address = tenant
    key = f"inbound/raw/test/{uuid.uuid4().hex}"
    blobs.put_raw(key, report_mail(address, aggregate_xml("example.com", ROWS)))
    envelope = Envelope(recipients=[address], spam=spam, virus=virus, receiver="ses")
    outcome = pipeline.ingest_object(key, envelope=envelope)
    assert [(q.reason, q.account_id) for q in outcome.quarantined] == [(reason, live.account_id)]
    assert all_stats(live) == []
    tags = aws_clients.client("s3").get_object_tagging(Bucket=get_settings().raw_bucket, Key=key)["TagSet"]
    assert {"Key": "dmarcwatch-retention", "Value": "short"} in tags


def test_ses_dkim_verdict_marks_the_reporter_authenticated(tenant: tuple[Tenant, str]) -> None:
    _, address = tenant
    mail = report_mail(address, aggregate_xml("example.com", ROWS))
    signed = (
        b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=google.com; "
        b"dkim=pass header.i=@google.com; dmarc=pass header.from=google.com;\r\n" + mail
    )
    key = f"inbound/raw/test/{uuid.uuid4().hex}"
    blobs.put_raw(key, signed)
    envelope = Envelope(recipients=[address], spam="PASS", virus="PASS", dkim="PASS", receiver="ses")
    first = pipeline.ingest_object(key, envelope=envelope)
    assert first.quarantined == []
    [report] = first.stored
    assert (report.reporter_authenticated, report.reporter_dkim_domain) == (True, "google.com")
    # A sender-written header below SES's own is not read; without SES's PASS nothing is vouched for.
    other_mail = report_mail(address, aggregate_xml("example.com", ROWS, report_id="r-2"))
    forged = b"Authentication-Results: amazonses.com; dkim=pass header.i=@google.com\r\n" + other_mail
    blobs.put_raw(key + "b", forged)
    unsigned = Envelope(recipients=[address], spam="PASS", virus="PASS", dkim="FAIL", receiver="ses")
    [other] = pipeline.ingest_object(key + "b", envelope=unsigned).stored
    assert (other.reporter_authenticated, other.reporter_dkim_domain) == (False, None)


def test_unrouted_mail_is_tagged_for_short_retention(aws: None) -> None:
    key = deliver(report_mail(f"nobody@{get_settings().reports_domain}", aggregate_xml("x.example", ROWS)))
    outcome = pipeline.ingest_object(key)
    assert [q.account_id for q in outcome.quarantined] == [None]
    tags = aws_clients.client("s3").get_object_tagging(Bucket=get_settings().raw_bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "dmarcwatch-retention", "Value": "short"}]


def test_quarantine_entries_expire(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("other.example", ROWS))))
    entry = outcome.quarantined[0]
    item = db.table().get_item(Key=db.key(f"TENANT#{live.account_id}#live", f"QUARANTINE#{entry.id}"))["Item"]
    assert int(item["expires_at_epoch"]) == int((entry.created_at + store.QUARANTINE_TTL).timestamp())


def test_entries_for_short_retention_mail_expire_with_it(aws: None) -> None:
    key = deliver(report_mail(f"nobody@{get_settings().reports_domain}", aggregate_xml("x.example", ROWS)))
    [entry] = pipeline.ingest_object(key).quarantined
    item = db.table().get_item(Key=db.key("UNROUTED", f"QUARANTINE#{entry.id}"))["Item"]
    short = timedelta(days=blobs.SHORT_RETENTION_DAYS)
    assert int(item["expires_at_epoch"]) == int((entry.created_at + short).timestamp())


def test_selectors_of_lookalike_domains_are_not_taken(tenant: tuple[Tenant, str]) -> None:
    live, address = tenant
    xml = aggregate_xml("example.com", ROWS).replace(
        b"<dkim><domain>example.com</domain><selector>s1</selector>",
        b"<dkim><domain>notexample.com</domain><selector>injected</selector>",
        1,
    )
    pipeline.ingest_object(deliver(report_mail(address, xml)))
    domain = domains.resolve(live, "example.com")
    assert "injected" not in scan_store.dkim_selectors(live, domain.id)


# --- L2: deleting a domain deletes its data ----------------------------------------------------------


def test_deleting_a_domain_purges_its_statistics_sources_reports_and_scans(
    tenant: tuple[Tenant, str],
) -> None:
    from tests.support.worker import drain_ingest_queue

    live, address = tenant
    domains.add_domains(live, get_plan(PlanName.PRO), ["kept.example"])
    outcome = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("example.com", ROWS))))
    kept = pipeline.ingest_object(deliver(report_mail(address, aggregate_xml("kept.example", ROWS))))
    [report] = outcome.stored
    domain = domains.resolve(live, "example.com")
    scan_store.add_dkim_selectors(live, domain.id, {"s1"})
    pk = f"TENANT#{live.account_id}#live"

    def partition(suffix: str) -> list[Any]:
        return db.table().query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"{pk}#{suffix}"}
        )["Items"]

    assert partition(f"STATS#{domain.id}")
    assert partition(f"RECORDS#{report.id}")
    domains.delete_domain(live, "example.com", purge=True)
    assert drain_ingest_queue() == 1
    assert partition(f"STATS#{domain.id}") == []
    assert partition(f"RECORDS#{report.id}") == []
    assert partition(f"APPLIED#{report.id}") == []
    for shard in range(8):
        assert partition(f"SOURCES#{domain.id}#2026-01-01#{shard}") == []
    assert store.get_report(live, report.id) is None
    assert scan_store.dkim_selectors(live, domain.id) == set()
    with pytest.raises(ClientError):
        aws_clients.client("s3").head_object(Bucket=get_settings().raw_bucket, Key=report.payload_key)
    # The other domain's data is untouched, and a second run of the message changes nothing.
    assert store.get_report(live, kept.stored[0].id) is not None
    from dmarcwatch.store.purge import purge_domain

    assert purge_domain(live, domain.id) == 3  # only the three fixed keys are asked again


def test_past_the_daily_cap_quarantine_entries_go_to_the_operator(
    tenant: tuple[Tenant, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live, address = tenant
    monkeypatch.setattr(pipeline, "QUARANTINE_PER_TENANT_PER_DAY", 2)
    outcomes = [
        pipeline.ingest_object(deliver(report_mail(address, aggregate_xml(f"spam{i}.example", ROWS))))
        for i in range(4)
    ]
    owners = [o.quarantined[0].account_id for o in outcomes]
    assert owners == [live.account_id, live.account_id, None, None]
    assert "daily quarantine cap" in outcomes[3].quarantined[0].message
    assert len(store.list_quarantine(live, limit=10, after=None)[0]) == 2
