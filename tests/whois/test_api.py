"""GET /v1/domains/{id}/whois and POST /v1/domains/{id}/refresh_whois: success, validation, auth, scopes,
tenancy, the cooldown, the first lookup queued on add, and the purge of a deleted domain's WHOIS."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store import whois as whois_store
from dmarcwatch.store.purge import purge_domain
from dmarcwatch.whois.messages import WhoisRequest
from dmarcwatch.whois.refresh import run_requests
from tests.integration.conftest import ApiAccount
from tests.support.rdap import FakeRdap
from tests.whois.support import queued, serve_domain

pytestmark = pytest.mark.filterwarnings("ignore::whoisit.errors.QueryWarning")


def add(client: TestClient, account: ApiAccount, name: str, environment: str = "live") -> str:
    response = client.post("/v1/domains", headers=account.headers(environment), json={"domains": [name]})
    assert response.status_code == 201, response.text
    listed = client.get("/v1/domains", headers=account.headers(environment)).json()["data"]
    return str(next(d["id"] for d in listed if d["domain"] == name))


def read_key(client: TestClient, account: ApiAccount) -> str:
    created = client.post("/v1/keys", headers=account.headers(), json={"name": "reader", "scope": "read"})
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["key"])


def whois_of(client: TestClient, account: ApiAccount, ref: str) -> dict[str, Any]:
    response = client.get(f"/v1/domains/{ref}/whois", headers=account.headers())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_a_new_domain_is_pending_then_shows_the_registration(
    client: TestClient, account: ApiAccount, rdap: FakeRdap, whois_queue: str
) -> None:
    serve_domain(rdap, "corp.test", redacted=True)
    domain_id = add(client, account, "corp.test")
    (message,) = queued(whois_queue)
    assert message["domain_id"] == domain_id
    assert message["origin"] == "added"
    pending = whois_of(client, account, domain_id)
    assert pending["whois_status"] == "pending"
    assert pending["registrar"] is None
    assert pending["warnings"] == []
    assert pending["domain_name"] == "corp.test"

    run_requests([WhoisRequest.model_validate(message)])
    shown = whois_of(client, account, "CORP.test")  # by name, any case
    assert shown["whois_status"] == "ok"
    assert shown["registrar"] == "Example Registrar, Inc."
    assert shown["expiry_date"] == "2031-03-01T00:00:00Z"
    assert shown["registration_date"] == "2001-05-04T10:00:00Z"
    assert shown["updated_date"] == "2024-02-01T08:30:00Z"
    assert shown["privacy_enabled"] is True
    assert shown["domain_statuses"] == ["clientTransferProhibited", "clientDeleteProhibited"]
    assert shown["name_servers"] == ["ns1.hoster.test", "ns2.hoster.test"]
    assert shown["days_to_expiry"] > 1000
    assert shown["ip_geolocation"] == {"ip": None, "country": None, "as_org": None}
    assert shown["fetched_at"] is not None
    assert shown["last_error"] is None
    seed_fields = {
        "domain_name", "registrar", "registration_date", "expiry_date", "updated_date", "name_servers",
        "registrant_name", "registrant_org", "registrant_country", "registrant_state", "contact_email",
        "registrar_abuse_email", "registrar_abuse_phone", "privacy_enabled", "dnssec_status",
        "domain_statuses", "whois_status", "whois_server", "ip_geolocation", "fetched_at",
    }  # fmt: skip
    assert seed_fields <= shown.keys()


def test_refresh_is_queued_then_cools_down(client: TestClient, account: ApiAccount, whois_queue: str) -> None:
    domain_id = add(client, account, "cool.test")
    queued(whois_queue)
    first = client.post(f"/v1/domains/{domain_id}/refresh_whois", headers=account.headers())
    assert first.status_code == 202, first.text
    assert first.json()["data"] == {
        "domain_id": domain_id,
        "queued": True,
        "reason": None,
        "retry_after": None,
    }
    assert len(queued(whois_queue)) == 1
    again = client.post("/v1/domains/cool.test/refresh_whois", headers=account.headers())
    assert again.status_code == 202
    body = again.json()["data"]
    assert body["queued"] is False
    assert body["reason"] == "cooldown"
    assert 590 <= body["retry_after"] <= 600
    assert queued(whois_queue) == []


def test_without_a_queue_a_refresh_leaves_the_domain_due_for_the_scheduler(
    client: TestClient, account: ApiAccount
) -> None:
    domain_id = add(client, account, "bare.test")
    response = client.post(f"/v1/domains/{domain_id}/refresh_whois", headers=account.headers())
    assert response.status_code == 202
    assert response.json()["data"]["reason"] == "scheduled"


def test_validation_auth_and_scopes(client: TestClient, account: ApiAccount) -> None:
    domain_id = add(client, account, "guarded.test")
    too_long = "x" * 300
    for method, path in (("GET", "whois"), ("POST", "refresh_whois")):
        invalid = client.request(method, f"/v1/domains/{too_long}/{path}", headers=account.headers())
        assert invalid.status_code == 400
        assert invalid.json()["error"]["code"] == "validation_error"
        missing = client.request(
            method, "/v1/domains/dom_00000000000000000000/" + path, headers=account.headers()
        )
        assert missing.status_code == 404
        anonymous = client.request(method, f"/v1/domains/{domain_id}/{path}")
        assert anonymous.status_code == 401
    reader = {"Authorization": f"Bearer {read_key(client, account)}"}
    assert client.get(f"/v1/domains/{domain_id}/whois", headers=reader).status_code == 200
    refused = client.post(f"/v1/domains/{domain_id}/refresh_whois", headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_another_tenants_domain_is_not_found(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    domain_id = add(client, account, "mine.test")
    for headers in (other_account.headers(), account.headers("test")):
        for method, path in (("GET", "whois"), ("POST", "refresh_whois")):
            for ref in (domain_id, "mine.test"):
                response = client.request(method, f"/v1/domains/{ref}/{path}", headers=headers)
                assert response.status_code == 404, response.text
    # The test environment's own domain of the same name is another domain, with its own WHOIS.
    test_id = add(client, account, "mine.test", "test")
    assert test_id != domain_id
    shown = client.get("/v1/domains/mine.test/whois", headers=account.headers("test")).json()["data"]
    assert shown["domain_id"] == test_id


def test_deleting_a_domain_purges_its_whois(client: TestClient, account: ApiAccount) -> None:
    domain_id = add(client, account, "purged.test")
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    assert whois_store.get(tenant, domain_id) is not None
    assert client.delete(f"/v1/domains/{domain_id}", headers=account.headers()).status_code in (200, 202, 204)
    purge_domain(tenant, domain_id)
    assert whois_store.get(tenant, domain_id) is None
