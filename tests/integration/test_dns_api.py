"""The DNS endpoints against the fixture zones (tests/dns/zones): scan, results, records, history, filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.api.dns_schemas import (
    DmarcRecordOut,
    DmarcSummaryOut,
    DnsRecordsOut,
    RefreshOut,
    ScanOut,
    SpfSummaryOut,
)
from dmarcwatch.dns.limits import FULL, UNVERIFIED
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PLANS, PlanName
from dmarcwatch.scanning import on_demand
from dmarcwatch.scanning.service import scan_and_record
from dmarcwatch.services import dns_views, domains
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import scans
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.integration.conftest import ApiAccount

pytestmark = pytest.mark.usefixtures("dns_server")


@pytest.fixture
def corp(client: TestClient, account: ApiAccount) -> str:
    created = client.post("/v1/domains", headers=account.headers(), json={"domain": "corp-a.test"})
    return str(created.json()["data"]["id"])


def test_scan_returns_the_summary_and_the_full_result(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    response = client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["dmarc"]["found"] is True
    assert data["dmarc"]["policy"] == "quarantine"
    assert data["spf"] == {
        "found": True,
        "record": "v=spf1 include:_spf.google.test ~all",
        "valid": True,
        "status": "valid",
        "dns_lookups": 4,
    }
    assert data["changes"] == []
    assert data["result"]["mx"][0]["host"] == "aspmx.l.google.test"
    assert (data["cached"], data["next_scan_allowed_at"] > data["result"]["scanned_at"]) == (False, True)


def test_the_api_models_carry_every_field_the_service_returns(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    """The response models drop what they do not declare: each service answer must fit its model exactly."""
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    scanned = dns_views.scan_now(tenant, corp)
    cached = dns_views.scan_now(tenant, corp)
    refreshed = dns_views.refresh(tenant, corp)
    found = account_store.get_account(account.id)
    assert found is not None
    records = dns_views.dns_records(tenant, found, corp)
    for answer, model in (
        (scanned, ScanOut),
        (cached, ScanOut),
        (refreshed, RefreshOut),
        (records, DnsRecordsOut),
    ):
        assert set(answer) == set(model.model_fields), model
    for answer in (scanned, cached):
        assert set(answer["dmarc"]) == set(DmarcSummaryOut.model_fields)
        assert set(answer["spf"]) == set(SpfSummaryOut.model_fields)
    assert set(records["dmarc"]) == set(DmarcRecordOut.model_fields)


def test_results_records_history_and_detail_after_a_scan(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    assert client.get(f"/v1/domains/{corp}/scan-results", headers=account.headers()).status_code == 404
    client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    latest = client.get(f"/v1/domains/{corp}/scan-results", headers=account.headers()).json()["data"]
    assert latest["result"]["dmarc_policy_p"] == "quarantine"
    assert latest["previous"] == {}
    records = client.get(f"/v1/domains/{corp}/dns-records", headers=account.headers()).json()["data"]
    rua = client.get("/v1/account", headers=account.headers()).json()["data"]["inbound_address"]
    assert records["dmarc"]["name"] == "_dmarc.corp-a.test"
    assert records["dmarc"]["recommended"] == f"v=DMARC1; p=quarantine; rua=mailto:{rua}"
    assert records["spf"]["found"] == "v=spf1 include:_spf.google.test ~all"
    assert [s["selector"] for s in records["dkim"]] == ["google"]
    changes = client.get(f"/v1/domains/{corp}/changes", headers=account.headers()).json()
    assert changes["data"] == []
    detail = client.get(f"/v1/domains/{corp}", headers=account.headers()).json()["data"]
    assert detail["scan_result"]["result"]["spf_dns_lookups"] == 4
    assert detail["change_history"] == []


def test_list_filters_by_dmarc_status(client: TestClient, account: ApiAccount, corp: str) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domain": "nodmarc.test"})
    for name in ("corp-a.test", "nodmarc.test"):
        client.post(f"/v1/domains/{name}/scan", headers=account.headers())

    def names(query: str) -> list[str]:
        return [
            d["domain"] for d in client.get(f"/v1/domains?{query}", headers=account.headers()).json()["data"]
        ]

    assert names("dmarc_status=quarantine") == ["corp-a.test"]
    listed = {d["domain"]: d for d in client.get("/v1/domains", headers=account.headers()).json()["data"]}
    # The packaged provider tables know google.com, not the fixtures' google.test: no gateway here.
    assert (listed["corp-a.test"]["dmarc_status"], listed["corp-a.test"]["email_gateway"]) == (
        "quarantine",
        "none",
    )
    assert listed["corp-a.test"]["last_scan_at"].endswith("Z")
    assert listed["corp-a.test"]["next_scan_at"] > listed["corp-a.test"]["last_scan_at"]
    assert names("email_gateway=NONE") == ["corp-a.test", "nodmarc.test"]
    assert names("email_gateway=google%20workspace") == []


def test_refresh_is_accepted(client: TestClient, account: ApiAccount, corp: str) -> None:
    response = client.post(f"/v1/domains/{corp}/refresh_dns", headers=account.headers())
    assert response.status_code == 202
    # No scan queue in these tests: the schedule scans the domain at once.
    assert response.json()["data"] == {
        "domain_id": corp,
        "queued": False,
        "reason": "scheduled",
        "retry_after": None,
    }


def test_dns_endpoints_are_tenant_scoped(
    client: TestClient, account: ApiAccount, other_account: ApiAccount, corp: str
) -> None:
    client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    for method, suffix in (
        ("POST", "scan"),
        ("POST", "refresh_dns"),
        ("GET", "scan-results"),
        ("GET", "dns-records"),
        ("GET", "changes"),
    ):
        for headers in (other_account.headers(), account.headers("test")):
            response = client.request(method, f"/v1/domains/{corp}/{suffix}", headers=headers)
            assert response.status_code == 404, (method, suffix)


def test_subdomains_show_and_filter_by_the_policy_that_applies(
    client: TestClient, account: ApiAccount
) -> None:
    """Issue 14 item 3: a subdomain without its own record is filtered and advised by the parent's sp (or
    np for a name that does not exist), with the record's own p beside it."""
    names = ("sub.corp-a.test", "ghost.np.test", "www.np.test", "mail.eu.walk.test")
    client.post("/v1/domains", headers=account.headers(), json={"domains": list(names)})
    results = {}
    summaries = {}
    for name in names:
        response = client.post(f"/v1/domains/{name}/scan", headers=account.headers())
        assert response.status_code == 200, response.text
        results[name] = response.json()["data"]["result"]
        summaries[name] = response.json()["data"]["dmarc"]
    shown = {
        name: (
            r["dmarc_policy_p"],
            r["dmarc_policy_applied"],
            r["dmarc_policy_source"],
            r["dmarc_policy_domain"],
        )
        for name, r in results.items()
    }
    assert shown == {
        "sub.corp-a.test": ("quarantine", "reject", "sp", "corp-a.test"),
        "ghost.np.test": ("none", "reject", "np", "np.test"),
        "www.np.test": ("none", "quarantine", "sp", "np.test"),
        "mail.eu.walk.test": ("reject", "reject", "p", "eu.walk.test"),
    }

    def names_with(status: str) -> list[str]:
        listed = client.get(f"/v1/domains?dmarc_status={status}", headers=account.headers()).json()["data"]
        return sorted(d["domain"] for d in listed)

    # The scan's summary says the same as the result.
    assert {
        name: (d["policy"], d["policy_applied"], d["policy_source"], d["policy_domain"])
        for name, d in summaries.items()
    } == shown

    assert names_with("reject") == ["ghost.np.test", "mail.eu.walk.test", "sub.corp-a.test"]
    assert names_with("quarantine") == ["www.np.test"]
    assert names_with("none") == []

    records = client.get("/v1/domains/sub.corp-a.test/dns-records", headers=account.headers()).json()["data"]
    rua = client.get("/v1/account", headers=account.headers()).json()["data"]["inbound_address"]
    assert records["dmarc"]["name"] == "_dmarc.sub.corp-a.test"
    # The record that applies is the parent's: found there, its p beside the sp that applies.
    dmarc = records["dmarc"]
    assert (dmarc["found_at"], dmarc["policy"], dmarc["policy_applied"], dmarc["policy_source"]) == (
        "_dmarc.corp-a.test",
        "quarantine",
        "reject",
        "sp",
    )
    # Publishing the recommendation at the subdomain keeps what applies today (reject, not quarantine).
    assert records["dmarc"]["recommended"] == f"v=DMARC1; p=reject; rua=mailto:{rua}"
    ghost = client.get("/v1/domains/ghost.np.test/dns-records", headers=account.headers()).json()["data"]
    assert ghost["dmarc"]["recommended"] == f"v=DMARC1; p=reject; rua=mailto:{rua}"


def test_the_summary_shows_the_records_p_beside_the_applied_policy() -> None:
    from dmarcwatch.dns.result import ScanResult
    from dmarcwatch.models import utcnow
    from dmarcwatch.services.dns_views import summary

    result = ScanResult(
        domain="ghost.np.test",
        scanned_at=utcnow(),
        dmarc="v=DMARC1; p=none; sp=quarantine; np=reject",
        dmarc_policy_p="none",
        dmarc_policy_applied="reject",
        dmarc_policy_source="np",
        dmarc_policy_domain="np.test",
    )
    dmarc = summary(result)["dmarc"]
    assert (dmarc["policy"], dmarc["policy_applied"], dmarc["policy_source"], dmarc["policy_domain"]) == (
        "none",
        "reject",
        "np",
        "np.test",
    )
    # A result stored before the applied policy was recorded falls back to its record's p.
    old = result.model_copy(update={"dmarc_policy_applied": None, "dmarc_policy_source": None})
    assert summary(old)["dmarc"]["policy_applied"] == "none"


def test_the_scan_of_an_unverified_domain_runs_within_the_smaller_limits(
    client: TestClient, account: ApiAccount
) -> None:
    """Review M2: fanout.test points its SPF tree and MX hosts under victim.test; unverified, its scan
    resolves three MX hosts and stays within the unverified budget. Verified, the full limits apply."""
    created = client.post("/v1/domains", headers=account.headers(), json={"domain": "fanout.test"})
    domain_id = created.json()["data"]["id"]
    result = client.post(f"/v1/domains/{domain_id}/scan", headers=account.headers()).json()["data"]["result"]
    assert len(result["mx_server_ips"]) == UNVERIFIED.mx_hosts
    assert result["queries_sent"] <= UNVERIFIED.max_queries

    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    domain = domains.resolve(tenant, domain_id)
    verified = scan_and_record(tenant, domain.model_copy(update={"verified_at": utcnow()})).result
    assert len(verified.mx_server_ips) == 8
    assert result["queries_sent"] < verified.queries_sent <= FULL.max_queries


# --- on-demand cooldown and budget (review M2) --------------------------------------------------------------


def test_a_second_scan_within_the_cooldown_answers_the_stored_result(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    first = client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    second = client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    assert (first.status_code, second.status_code) == (200, 200)
    fresh, cached = first.json()["data"], second.json()["data"]
    assert cached["result"] == fresh["result"]
    assert (fresh["cached"], cached["cached"]) == (False, True)
    # The cooldown runs from the first scan: both answers name the same time.
    assert cached["next_scan_allowed_at"] == fresh["next_scan_allowed_at"] > cached["result"]["scanned_at"]
    assert cached["changes"] == []
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    latest = scans.latest(tenant, corp)
    assert latest is not None
    assert latest.scan_count == 1  # nothing was scanned the second time


def test_a_refresh_within_the_cooldown_queues_nothing(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    response = client.post(f"/v1/domains/{corp}/refresh_dns", headers=account.headers())
    assert response.status_code == 202
    refreshed = response.json()["data"]
    assert (refreshed["queued"], refreshed["reason"]) == (False, "cooldown")
    assert 0 < refreshed["retry_after"] <= on_demand.ON_DEMAND_COOLDOWN.total_seconds()


def test_a_scan_within_the_cooldown_with_nothing_stored_is_429(
    client: TestClient, account: ApiAccount, corp: str
) -> None:
    # A refresh (no scan queue here: the schedule takes it) holds the cooldown before any result exists.
    assert client.post(f"/v1/domains/{corp}/refresh_dns", headers=account.headers()).status_code == 202
    response = client.post(f"/v1/domains/{corp}/scan", headers=account.headers())
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert 0 < int(response.headers["Retry-After"]) <= 300


def test_the_cooldown_ends(account: ApiAccount, client: TestClient, corp: str) -> None:
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    domain = domains.resolve(tenant, corp)
    now = utcnow()
    assert not isinstance(on_demand.scan_now(tenant, domain, now), on_demand.Cooldown)
    held = on_demand.scan_now(tenant, domain, now + timedelta(minutes=4))
    assert isinstance(held, on_demand.Cooldown)
    assert held.until == now + on_demand.ON_DEMAND_COOLDOWN
    assert not isinstance(on_demand.scan_now(tenant, domain, now + timedelta(minutes=5)), on_demand.Cooldown)


def test_on_demand_scans_beyond_the_hourly_budget_are_429(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["corp-a.test", "corp-b.test"]})
    pro = PLANS[PlanName.PRO]
    monkeypatch.setitem(PLANS, PlanName.PRO, pro.model_copy(update={"requested_scans_per_hour": 1}))
    assert client.post("/v1/domains/corp-a.test/scan", headers=account.headers()).status_code == 200
    refused = client.post("/v1/domains/corp-b.test/scan", headers=account.headers())
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
