"""GET /account, GET / and the key lifecycle: shown once, hashed, limited, environment-scoped."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.api.registry import route_specs
from dmarcwatch.auth.apikeys import hash_key
from dmarcwatch.models import KeyScope
from dmarcwatch.store import accounts as store
from tests.integration.conftest import ApiAccount


def test_account_shows_plan_subscription_and_usage(client: TestClient, account: ApiAccount) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["a.example", "b.example"]})
    data = client.get("/v1/account", headers=account.headers()).json()["data"]
    assert data["id"] == account.id
    assert data["environment"] == "live"
    assert data["subscription_status"] == "active"
    assert data["plan"]["name"] == "pro"
    assert data["plan"]["requests_per_minute"] == 300
    assert data["plan"]["requests_per_day"] == 10_000
    assert data["usage"]["domains"] == 2
    assert data["usage"]["api_calls_today"] == 2
    assert data["usage"]["reports_this_month"] == 0
    assert client.get("/v1/account", headers=account.headers("test")).json()["data"]["usage"]["domains"] == 0
    # What the report pipeline counts per stored report (read in the same call as the domain count).
    from datetime import UTC, datetime

    from dmarcwatch.store import counters

    month = counters.month_window(datetime.now(UTC))
    counters.increment(
        counters.reports_counter_subject(account.id, "live"), month, expires_at_epoch=0, limit=None
    )
    usage = client.get("/v1/account", headers=account.headers()).json()["data"]["usage"]
    assert (usage["domains"], usage["reports_this_month"], usage["api_calls_today"]) == (2, 1, 4)


def test_index_names_the_caller_and_lists_every_endpoint(client: TestClient, account: ApiAccount) -> None:
    data = client.get("/v1/", headers=account.headers("test")).json()["data"]
    assert data["caller"]["account_id"] == account.id
    assert data["caller"]["environment"] == "test"
    listed = {(e["method"], e["path"]) for e in data["endpoints"]}
    assert len(listed) == len(route_specs())
    assert ("GET", "/v1/health") in listed
    assert ("POST", "/v1/domains/{domain_id}/activate") in listed


def test_created_key_is_shown_once_stored_hashed_and_works(client: TestClient, account: ApiAccount) -> None:
    response = client.post(
        "/v1/keys", headers=account.headers(), json={"name": "deploy bot", "expires_in_days": 30}
    )
    assert response.status_code == 201
    created = response.json()["data"]
    secret = created["key"]
    assert secret.startswith("dmw_live_")
    assert created["prefix"] == secret[:12]
    assert created["id"].startswith("key_")
    assert created["expires_at"].endswith("Z")
    stored = store.get_key_by_hash(hash_key(secret))
    assert stored is not None
    assert secret not in stored.model_dump_json()
    listing = client.get("/v1/keys", headers=account.headers())
    assert secret not in listing.text
    names = {k["name"]: k for k in listing.json()["data"]}
    assert names["deploy bot"]["status"] == "active"
    me = client.get("/v1/", headers={"Authorization": f"Bearer {secret}"}).json()["data"]["caller"]
    assert me["key_id"] == created["id"]
    listed_again = {k["id"]: k for k in client.get("/v1/keys", headers=account.headers()).json()["data"]}
    assert listed_again[created["id"]]["last_used_at"] is not None


@pytest.mark.parametrize("days", [None, 0, 366, 3650, "soon"])
def test_keys_must_expire_within_a_year(client: TestClient, account: ApiAccount, days: object) -> None:
    body = {"name": "forever", "expires_in_days": days}
    refused = client.post("/v1/keys", headers=account.headers(), json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["expires_in_days"]


def test_keys_expire_in_a_year_by_default_and_at_most(client: TestClient, account: ApiAccount) -> None:
    for body in ({"name": "default"}, {"name": "longest", "expires_in_days": 365}):
        created = client.post("/v1/keys", headers=account.headers(), json=body).json()["data"]
        expires, created_at = (datetime.fromisoformat(created[f]) for f in ("expires_at", "created_at"))
        assert expires - created_at == timedelta(days=365)


def test_the_admin_cli_refuses_keys_without_expiry_or_beyond_a_year(
    account: ApiAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmarcwatch import cli

    base = ["admin", "create-key", "--account", account.id]
    assert cli.main([*base, "--expires-in-days", "366"]) == 1
    assert "validation_error" in capsys.readouterr().err
    assert cli.main([*base, "--scope", "read", "--expires-in-days", "7"]) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["scope"] == "read"
    stored = store.get_key_by_hash(hash_key(issued["key"]))
    assert stored is not None
    assert stored.scope == KeyScope.READ
    assert stored.created_by_key_id is None
    assert cli.main([*base, "--expires-in-days", "30"]) == 0
    assert json.loads(capsys.readouterr().out)["scope"] == "admin"


def test_at_most_three_active_keys_per_environment(client: TestClient, account: ApiAccount) -> None:
    # The account starts with one live key.
    ids = [
        client.post("/v1/keys", headers=account.headers(), json={"name": f"k{i}"}).json()["data"]["id"]
        for i in range(2)
    ]
    refused = client.post("/v1/keys", headers=account.headers(), json={"name": "fourth"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "conflict"
    # The test environment has its own allowance.
    assert client.post("/v1/keys", headers=account.headers("test"), json={"name": "t"}).status_code == 201
    # Revoking frees a slot.
    assert client.delete(f"/v1/keys/{ids[0]}", headers=account.headers()).status_code == 200
    assert client.post("/v1/keys", headers=account.headers(), json={"name": "fourth"}).status_code == 201


def test_revoke_is_visible_in_the_listing_and_cannot_repeat(client: TestClient, account: ApiAccount) -> None:
    key_id = client.post("/v1/keys", headers=account.headers(), json={"name": "tmp"}).json()["data"]["id"]
    revoked = client.delete(f"/v1/keys/{key_id}", headers=account.headers())
    assert revoked.json()["data"]["status"] == "revoked"
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=account.headers()).json()["data"]}
    assert listed[key_id]["status"] == "revoked"
    assert listed[key_id]["revoked_at"] is not None
    assert client.delete(f"/v1/keys/{key_id}", headers=account.headers()).status_code == 404


def test_keys_of_another_account_or_environment_are_404(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    key_id = client.post("/v1/keys", headers=account.headers(), json={"name": "mine"}).json()["data"]["id"]
    for headers in (other_account.headers(), account.headers("test")):
        response = client.delete(f"/v1/keys/{key_id}", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert key_id not in {k["id"] for k in client.get("/v1/keys", headers=headers).json()["data"]}
    assert client.get("/v1/account", headers=account.headers()).status_code == 200


def test_test_key_lists_only_test_keys(client: TestClient, account: ApiAccount) -> None:
    environments = {
        k["environment"] for k in client.get("/v1/keys", headers=account.headers("test")).json()["data"]
    }
    assert environments == {"test"}
