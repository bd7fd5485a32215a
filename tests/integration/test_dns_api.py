"""The DNS endpoints against the fixture zones (tests/dns/zones): scan, results, records, history, filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.dns.limits import FULL, UNVERIFIED
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.scanning.service import scan_and_record
from dmarcwatch.services import domains
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
    assert detail["recent_changes"] == []


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
    assert response.json()["data"]["domain_id"] == corp


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
    for name in names:
        response = client.post(f"/v1/domains/{name}/scan", headers=account.headers())
        assert response.status_code == 200, response.text
        results[name] = response.json()["data"]["result"]
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

    assert names_with("reject") == ["ghost.np.test", "mail.eu.walk.test", "sub.corp-a.test"]
    assert names_with("quarantine") == ["www.np.test"]
    assert names_with("none") == []

    records = client.get("/v1/domains/sub.corp-a.test/dns-records", headers=account.headers()).json()["data"]
    rua = client.get("/v1/account", headers=account.headers()).json()["data"]["inbound_address"]
    assert records["dmarc"]["name"] == "_dmarc.sub.corp-a.test"
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
