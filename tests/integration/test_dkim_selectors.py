"""DKIM selectors from reports (review H1 and M1): normalised, capped per report and per domain, and ranked
so that injected selectors cannot push the real ones out of a scan.

Anyone who knows a tenant's rua address can send reports, and every `<selector>` in them used to be added
raw to one ever-growing string set (a report with a new selector then failed once the item neared 400 KB),
and the scan asked the first 50 in sorted order (so 50 invented `0…` selectors hid the real ones).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from dmarcwatch import table as t
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.scanning.service import scan_and_record
from dmarcwatch.services import admin, domains
from dmarcwatch.store import db
from dmarcwatch.store import scans as scan_store
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests

DOMAIN_ID = "dom_selectors"


@pytest.fixture
def tenant(aws: None) -> Tenant:
    created = admin.create_account(f"{uuid.uuid4().hex}@example.com", PlanName.PRO, None, 365)
    return Tenant(account_id=created.account.id, environment=Environment.LIVE)


def stored_item(tenant: Tenant) -> dict[str, object]:
    item = db.table().get_item(
        Key=db.key(t.tenant_pk(tenant.account_id, tenant.environment), t.dkim_selectors_sk(DOMAIN_ID))
    )["Item"]
    return dict(item)


def test_selectors_are_normalised_and_invalid_ones_dropped(tenant: Tenant) -> None:
    scan_store.add_dkim_selectors(
        tenant, DOMAIN_ID, {" Google ", "S1.Sub", "bad sel!", "x" * 64, "é", "-lead", "", "a" * 8000}
    )
    assert scan_store.dkim_selectors(tenant, DOMAIN_ID) == {"google", "s1.sub"}


def test_one_report_adds_at_most_twenty_selectors(tenant: Tenant) -> None:
    scan_store.add_dkim_selectors(tenant, DOMAIN_ID, {f"s{i:03}" for i in range(500)})
    assert len(scan_store.dkim_selectors(tenant, DOMAIN_ID)) == scan_store.SELECTORS_PER_CALL


def test_the_item_keeps_the_most_recently_seen_selectors_and_stays_small(tenant: Tenant) -> None:
    start = utcnow() - timedelta(days=1)
    for batch in range(15):  # 300 distinct selectors, 20 per report, one report a minute
        names = {f"b{batch:02}s{i:02}-{'x' * 50}" for i in range(20)}
        scan_store.add_dkim_selectors(tenant, DOMAIN_ID, names, at=start + timedelta(minutes=batch))
    kept = scan_store.dkim_selectors(tenant, DOMAIN_ID)
    assert len(kept) == scan_store.SELECTORS_KEPT
    # The oldest five reports' selectors went first.
    assert {name[:3] for name in kept} == {f"b{batch:02}" for batch in range(5, 15)}
    assert db.item_size(stored_item(tenant)) < 40_000


def test_an_item_of_the_old_format_is_converted_and_shrinks(tenant: Tenant) -> None:
    """The old format kept every raw selector in one string set: 300 KB of them, near the item limit."""
    hostile = {f"{i:05}-{'z' * 990}" for i in range(300)} | {"acme2024", "Real2023"}
    db.table().put_item(
        Item={
            **db.key(t.tenant_pk(tenant.account_id, tenant.environment), t.dkim_selectors_sk(DOMAIN_ID)),
            "selectors": hostile,
        }
    )
    assert scan_store.dkim_selectors(tenant, DOMAIN_ID) == {"acme2024", "real2023"}
    scan_store.add_dkim_selectors(tenant, DOMAIN_ID, {"fresh"})
    item = stored_item(tenant)
    assert "selectors" not in item
    assert set(item["seen"]) == {"acme2024", "real2023", "fresh"}  # type: ignore[call-overload]
    history = scan_store.dkim_selector_history(tenant, DOMAIN_ID)
    assert history.ranked() == ["fresh", "acme2024", "real2023"]


def test_found_selectors_rank_first_then_the_most_recently_seen() -> None:
    history = scan_store.SelectorHistory(
        seen={"0000": "2026-11-02", "0001": "2026-11-02", "real": "2026-10-01", "older": "2026-09-01"},
        found={"older": "2026-10-15", "google": "2026-10-20"},
    )
    assert history.ranked() == ["google", "older", "0000", "0001", "real"]


@pytest.mark.usefixtures("dns_server")
def test_injected_selectors_cannot_push_a_real_one_out_of_the_scan(tenant: Tenant) -> None:
    domains.add_domains(tenant, get_plan(PlanName.PRO), ["acme.test"])
    domain = domains.resolve(tenant, "acme.test")
    # A real report names the domain's own selector; the first scan finds its key.
    scan_store.add_dkim_selectors(tenant, domain.id, {"acme2024"}, at=utcnow() - timedelta(days=2))
    first = scan_and_record(tenant, domain)
    assert "acme2024" in [key.selector for key in first.result.dkim_selectors_found]
    assert "acme2024" in scan_store.dkim_selector_history(tenant, domain.id).found
    # Then forged reports bring 60 newer selectors that sort before it.
    for batch in range(3):
        injected = {f"0{batch}{i:02}" for i in range(20)}
        scan_store.add_dkim_selectors(tenant, domain.id, injected, at=utcnow() - timedelta(hours=1 - batch))
    second = scan_and_record(tenant, domain)
    assert "acme2024" in second.result.dkim_selectors_checked
    assert "acme2024" in [key.selector for key in second.result.dkim_selectors_found]
