"""POST /v1/domains/{id}/verify against the fixture DNS server (tests/dns/zones/verify.test.zone)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dmarcwatch import table as t
from dmarcwatch.store.db import key, table
from dmarcwatch.store.events import recent_events
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.integration.conftest import ApiAccount

pytestmark = pytest.mark.usefixtures("dns_server")


def add_with_token(client: TestClient, account: ApiAccount, name: str, token: str) -> str:
    created = client.post("/v1/domains", headers=account.headers(), json={"domain": name}).json()["data"]
    # The token is random; pin it to the one the fixture zone publishes.
    table().update_item(
        Key=key(t.tenant_pk(account.id, "live"), t.domain_sk(name)),
        UpdateExpression="SET verification_token = :t",
        ExpressionAttributeValues={":t": token},
    )
    return str(created["id"])


def test_token_at_the_underscore_name_verifies_once(client: TestClient, account: ApiAccount) -> None:
    domain_id = add_with_token(client, account, "sub.verify.test", "SubTokenSubTokenSubToken")
    unverified = client.get(f"/v1/domains/{domain_id}", headers=account.headers()).json()["data"]
    assert unverified["verification"]["verified"] is False
    assert unverified["verification"]["record_name"] == "_dmarcwatch.sub.verify.test"
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (True, "verified")
    assert result["domain"]["verification"]["verified_at"].endswith("Z")
    again = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert again["status"] == "already_verified"
    assert [e.payload.type for e in recent_events(account.id, "live")] == ["domain.verified"]


def test_token_at_the_apex_verifies(client: TestClient, account: ApiAccount) -> None:
    domain_id = add_with_token(client, account, "apex.verify.test", "ApexTokenApexTokenApexTo")
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert result["status"] == "verified"


def test_someone_elses_token_is_not_found(client: TestClient, account: ApiAccount) -> None:
    domain_id = add_with_token(client, account, "wrong.verify.test", "MyOwnTokenMyOwnTokenMyOw")
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (False, "token_not_found")
    assert "dmarcwatch-verification=MyOwnToken" in result["detail"]


def test_dns_failure_is_an_error_not_a_missing_token(client: TestClient, account: ApiAccount) -> None:
    domain_id = add_with_token(client, account, "www.servfail.test", "AnyTokenAnyTokenAnyToken")
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (False, "dns_error")


def test_verify_is_tenant_scoped(client: TestClient, account: ApiAccount, other_account: ApiAccount) -> None:
    domain_id = add_with_token(client, account, "sub.verify.test", "SubTokenSubTokenSubToken")
    response = client.post(f"/v1/domains/{domain_id}/verify", headers=other_account.headers())
    assert response.status_code == 404
