"""Review M3: key scopes, only admin keys manage keys, cascading revocation, and an atomic cap on keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.api.registry import API_PREFIX, route_specs
from dmarcwatch.auth.apikeys import hash_key
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import ApiKey, Environment, KeyScope, Tenant, utcnow
from dmarcwatch.plans import PlanName, get_plan
from dmarcwatch.services import keys
from dmarcwatch.store import accounts as account_store
from dmarcwatch.store import db
from tests.integration.conftest import ApiAccount

MUTATIONS = [
    (s.method, API_PREFIX + s.path.replace("{key_id}", "key_x").replace("{domain_id}", "example.com"))
    for s in route_specs()
    if s.method != "GET" and not s.public
]
KEY_ROUTES = [("GET", "/v1/keys"), ("POST", "/v1/keys"), ("DELETE", "/v1/keys/key_x")]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def new_key(client: TestClient, headers: dict[str, str], name: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/keys", headers=headers, json={"name": name, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def stored(secret: str) -> ApiKey:
    found = account_store.get_key_by_hash(hash_key(secret))
    assert found is not None
    return found


def live(account: ApiAccount) -> Tenant:
    return Tenant(account_id=account.id, environment=Environment.LIVE)


# --- scopes ----------------------------------------------------------------------------------------------


def test_keys_default_to_admin_and_listings_show_scope_activity_and_creator(
    client: TestClient, account: ApiAccount
) -> None:
    first = stored(account.live_key)
    assert first.scope == KeyScope.ADMIN
    assert first.created_by_key_id is None
    reader = new_key(client, account.headers(), "reader", scope="read")
    default = new_key(client, account.headers(), "default")
    assert (reader["scope"], default["scope"]) == ("read", "admin")
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=account.headers()).json()["data"]}
    assert listed[first.id]["created_by_key_id"] is None
    assert listed[reader["id"]]["created_by_key_id"] == first.id
    assert all(k["is_active"] and k["status"] == "active" for k in listed.values())
    me = client.get("/v1/", headers=bearer(reader["key"])).json()["data"]["caller"]
    assert me["scope"] == "read"


@pytest.mark.parametrize(("method", "path"), MUTATIONS)
def test_a_read_key_gets_403_on_every_mutation(
    client: TestClient, account: ApiAccount, method: str, path: str
) -> None:
    reader = new_key(client, account.headers(), "reader", scope="read")
    response = client.request(method, path, headers=bearer(reader["key"]), json={})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_read_key_reads(client: TestClient, account: ApiAccount) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domain": "example.com"})
    reader = bearer(new_key(client, account.headers(), "reader", scope="read")["key"])
    assert [d["domain"] for d in client.get("/v1/domains", headers=reader).json()["data"]] == ["example.com"]
    assert client.get("/v1/domains/example.com", headers=reader).status_code == 200
    assert client.get("/v1/account", headers=reader).status_code == 200
    refused = client.post("/v1/domains", headers=reader, json={"domain": "other.example"})
    assert refused.status_code == 403
    assert client.get("/v1/domains/other.example", headers=account.headers()).status_code == 404


@pytest.mark.parametrize("scope", ["read", "write"])
@pytest.mark.parametrize(("method", "path"), KEY_ROUTES)
def test_only_admin_keys_manage_keys(
    client: TestClient, account: ApiAccount, scope: str, method: str, path: str
) -> None:
    limited = bearer(new_key(client, account.headers(), scope, scope=scope)["key"])
    response = client.request(method, path, headers=limited, json={"name": "escalate", "scope": "admin"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_write_key_changes_data(client: TestClient, account: ApiAccount) -> None:
    writer = bearer(new_key(client, account.headers(), "writer", scope="write")["key"])
    assert client.post("/v1/domains", headers=writer, json={"domain": "example.com"}).status_code == 201
    assert client.post("/v1/domains/example.com/deactivate", headers=writer).status_code == 200
    assert client.delete("/v1/domains/example.com", headers=writer).status_code == 200


def test_the_authorizer_context_names_the_scope(aws: None, account: ApiAccount) -> None:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerTokenEvent,
    )

    from dmarcwatch.auth.authorizer import authorize

    reader = keys.create_key(live(account), get_plan(PlanName.PRO), "reader", 30, scope=KeyScope.READ)
    for secret, scope in ((account.live_key, "admin"), (reader.secret, "read")):
        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {secret}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/domains",
        }
        assert authorize(APIGatewayAuthorizerTokenEvent(event))["context"]["scope"] == scope


# --- cascading revocation ---------------------------------------------------------------------------------


def test_revoking_a_key_revokes_the_keys_it_created(client: TestClient, account: ApiAccount) -> None:
    child = new_key(client, account.headers(), "child")
    grandchild = new_key(client, bearer(child["key"]), "grandchild", scope="write")
    assert grandchild["created_by_key_id"] == child["id"]

    revoked = client.delete(f"/v1/keys/{child['id']}", headers=account.headers())
    assert revoked.status_code == 200
    assert revoked.json()["data"]["cascaded_key_ids"] == [grandchild["id"]]
    for secret in (child["key"], grandchild["key"]):
        refused = client.get("/v1/account", headers=bearer(secret))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/account", headers=account.headers()).status_code == 200
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=account.headers()).json()["data"]}
    for key_id in (child["id"], grandchild["id"]):
        assert (listed[key_id]["is_active"], listed[key_id]["status"]) == (False, "revoked")
    # The cascade freed both slots: two more keys fit under the cap of three.
    new_key(client, account.headers(), "again 1")
    new_key(client, account.headers(), "again 2")


def test_the_cascade_reaches_through_a_key_that_expired(
    aws: None, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    first = stored(account.live_key)
    child = keys.create_key(tenant, plan, "short-lived", 1, created_by=first)
    grandchild = keys.create_key(tenant, plan, "long-lived", 300, created_by=child.key)
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(keys, "utcnow", lambda: later)

    revoked = keys.revoke_key(tenant, first.id)
    assert [k.id for k in revoked.cascaded] == [grandchild.key.id]
    assert stored(grandchild.secret).revoked_at is not None
    assert stored(child.secret).revoked_at is None  # expired already: nothing to revoke


def test_revoking_another_tenants_key_is_404_and_revokes_nothing(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    mine = new_key(client, account.headers(), "mine")
    for headers in (other_account.headers(), account.headers("test")):
        response = client.delete(f"/v1/keys/{mine['id']}", headers=headers)
        assert response.status_code == 404
    assert client.get("/v1/account", headers=bearer(mine["key"])).status_code == 200


# --- races: the cap and the cascade are decided by one conditional write ----------------------------------


@pytest.fixture
def atomic_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a transaction atomically; in-process moto applies it in steps, so one at a time."""
    lock = threading.Lock()
    real = db.transact

    def transact(items: list[dict[str, Any]]) -> bool:
        with lock:
            return real(items)

    monkeypatch.setattr(account_store, "transact", transact)


@pytest.mark.usefixtures("atomic_moto")
def test_two_creations_racing_for_the_last_slot_cannot_both_win(
    aws: None, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    keys.create_key(tenant, plan, "second", 30)  # 2 of 3 slots taken
    # Both creators read the slots before either writes: each sees one slot free.
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()
    read_slots = account_store.key_slots

    def slots_then_wait(t: Tenant) -> account_store.KeySlots:
        slots = read_slots(t)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return slots

    monkeypatch.setattr(account_store, "key_slots", slots_then_wait)
    outcomes: list[object] = []

    def create(name: str) -> None:
        try:
            outcomes.append(keys.create_key(tenant, plan, name, 30))
        except ApiError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=create, args=(f"racer {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(map(type, outcomes), key=str) == sorted([keys.IssuedKey, ErrorCode], key=str)
    assert ErrorCode.CONFLICT in outcomes
    active = [k for k in account_store.list_keys(tenant) if k.is_active(utcnow())]
    assert len(active) == 3
    assert len(read_slots(tenant).live(utcnow())) == 3


def test_a_key_revoked_while_it_creates_a_key_gets_no_key(
    aws: None, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    leaked = keys.create_key(tenant, plan, "leaked", 30, created_by=stored(account.live_key)).key
    read_slots = account_store.key_slots
    revoked = False

    def slots_then_revoke(t: Tenant) -> account_store.KeySlots:
        nonlocal revoked
        slots = read_slots(t)
        if not revoked:  # the owner revokes the leaked key between the creation's read and its write
            revoked = True
            monkeypatch.setattr(account_store, "key_slots", read_slots)
            keys.revoke_key(tenant, leaked.id)
        return slots

    monkeypatch.setattr(account_store, "key_slots", slots_then_revoke)
    with pytest.raises(ApiError) as refused:
        keys.create_key(tenant, plan, "sibling", 30, created_by=leaked)
    assert refused.value.code == ErrorCode.INVALID_API_KEY
    assert "sibling" not in {k.name for k in account_store.list_keys(tenant)}


def test_a_key_created_while_its_creator_is_revoked_is_revoked_too(
    aws: None, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    leaked = keys.create_key(tenant, plan, "leaked", 30, created_by=stored(account.live_key)).key
    read_keys = account_store.list_keys
    sibling: list[keys.IssuedKey] = []

    def list_then_create(t: Tenant) -> list[ApiKey]:
        listed = read_keys(t)
        if not sibling:  # the leaked key creates a sibling after the revocation listed the keys
            sibling.append(keys.create_key(tenant, plan, "sibling", 30, created_by=leaked))
        return listed

    monkeypatch.setattr(account_store, "list_keys", list_then_create)
    revoked = keys.revoke_key(tenant, leaked.id)
    assert [k.id for k in revoked.cascaded] == [sibling[0].key.id]
    assert stored(sibling[0].secret).revoked_at is not None


# --- the cap ---------------------------------------------------------------------------------------------


def test_an_expired_key_gives_its_slot_back(
    aws: None, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    keys.create_key(tenant, plan, "brief", 1)
    keys.create_key(tenant, plan, "third", 30)
    with pytest.raises(ApiError) as full:
        keys.create_key(tenant, plan, "fourth", 30)
    assert full.value.code == ErrorCode.CONFLICT
    later = utcnow() + timedelta(days=2)
    monkeypatch.setattr(keys, "utcnow", lambda: later)
    assert keys.create_key(tenant, plan, "fourth", 30).key.name == "fourth"


def test_accounts_from_before_the_counted_cap_are_counted_from_their_keys(
    aws: None, account: ApiAccount, make_account: Callable[..., ApiAccount]
) -> None:
    tenant, plan = live(account), get_plan(PlanName.PRO)
    db.table().delete_item(Key=db.key(f"TENANT#{account.id}#live", "KEYSLOTS"))
    keys.create_key(tenant, plan, "second", 30)
    keys.create_key(tenant, plan, "third", 30)
    with pytest.raises(ApiError) as full:
        keys.create_key(tenant, plan, "fourth", 30)
    assert full.value.code == ErrorCode.CONFLICT
