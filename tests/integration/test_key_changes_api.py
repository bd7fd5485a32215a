"""PATCH /v1/keys/{id} (name, expiry) and POST /v1/keys/{id}/rotate (new secret, old one for a grace)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.auth.apikeys import hash_key
from dmarcwatch.models import Tenant, utcnow
from dmarcwatch.store import accounts as store
from tests.integration.conftest import ApiAccount


def _new_key(client: TestClient, account: ApiAccount, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/keys", headers=account.headers(), json={"name": "bot", **body})
    assert response.status_code == 201
    created: dict[str, Any] = response.json()["data"]
    return created


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def test_a_key_is_renamed_and_its_expiry_moved_in_the_listing_and_the_auth_copy(
    client: TestClient, account: ApiAccount
) -> None:
    created = _new_key(client, account, expires_in_days=30)
    later = (utcnow() + timedelta(days=200)).replace(microsecond=0)
    response = client.patch(
        f"/v1/keys/{created['id']}", headers=account.headers(), json={"name": "ci", "expires_at": _iso(later)}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["name"], data["expires_at"], data["status"]) == (
        "ci",
        later.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "active",
    )
    listed = {k["id"]: k for k in client.get("/v1/keys", headers=account.headers()).json()["data"]}
    assert listed[created["id"]]["name"] == "ci"
    auth_copy = store.get_key_by_hash(hash_key(created["key"]))
    assert auth_copy is not None
    assert auth_copy.expires_at == later
    # Only the name: the expiry stays.
    renamed = client.patch(f"/v1/keys/{created['id']}", headers=account.headers(), json={"name": "ci-2"})
    assert renamed.json()["data"]["expires_at"] == data["expires_at"]
    assert client.get("/v1/account", headers=_bearer(created["key"])).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"nickname": "x"},
        {"expires_at": "2020-01-01T00:00:00Z"},
        {"expires_at": "2999-01-01T00:00:00Z"},
        {"expires_at": "2027-01-01T00:00:00"},
        {"expires_at": "soon"},
    ],
)
def test_key_changes_are_validated(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> None:
    key_id = _new_key(client, account)["id"]
    response = client.patch(f"/v1/keys/{key_id}", headers=account.headers(), json=body)
    assert response.status_code == 400, body
    assert response.json()["error"]["code"] == "validation_error"


def test_revoked_expired_and_foreign_keys_cannot_change(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    created = _new_key(client, account)
    for headers in (other_account.headers(), account.headers("test")):
        for response in (
            client.patch(f"/v1/keys/{created['id']}", headers=headers, json={"name": "mine now"}),
            client.post(f"/v1/keys/{created['id']}/rotate", headers=headers, json={}),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
    # Expired (moved into the past behind the API's back): 409, it cannot be revived.
    tenant = Tenant(account_id=account.id, environment="live")
    stored = store.get_key(tenant, created["id"])
    assert stored is not None
    past = stored.model_copy(update={"expires_at": utcnow() - timedelta(minutes=1)})
    assert store.change_key(past, store.key_slots(tenant), utcnow())
    expired = client.patch(f"/v1/keys/{created['id']}", headers=account.headers(), json={"name": "again"})
    assert expired.status_code == 409
    assert (
        client.post(f"/v1/keys/{created['id']}/rotate", headers=account.headers(), json={}).status_code == 409
    )
    revoked_id = _new_key(client, account)["id"]
    assert client.delete(f"/v1/keys/{revoked_id}", headers=account.headers()).status_code == 200
    assert (
        client.patch(f"/v1/keys/{revoked_id}", headers=account.headers(), json={"name": "x"}).status_code
        == 404
    )


def test_key_changes_need_an_admin_key(client: TestClient, account: ApiAccount) -> None:
    key_id = _new_key(client, account)["id"]
    reader = _new_key(client, account, scope="read")["key"]
    writer = client.post(
        "/v1/keys", headers=account.headers("test"), json={"name": "w", "scope": "write"}
    ).json()["data"]["key"]
    for headers, status in ((_bearer(reader), 403), ({}, 401), (_bearer(writer), 403)):
        assert client.patch(f"/v1/keys/{key_id}", headers=headers, json={"name": "x"}).status_code == status
        assert client.post(f"/v1/keys/{key_id}/rotate", headers=headers, json={}).status_code == status


def test_a_rotated_key_gets_a_new_secret_and_the_old_one_works_for_the_grace(
    client: TestClient, account: ApiAccount
) -> None:
    old = _new_key(client, account, scope="write")
    response = client.post(
        f"/v1/keys/{old['id']}/rotate", headers=account.headers(), json={"grace_seconds": 600}
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["key"] != old["key"]
    assert (data["name"], data["scope"], data["status"]) == ("bot", "write", "active")
    replaced = data["replaced"]
    assert replaced["id"] == old["id"]
    assert replaced["status"] == "active"
    ends = datetime.fromisoformat(replaced["expires_at"].replace("Z", "+00:00"))
    assert timedelta(seconds=590) < ends - utcnow() <= timedelta(seconds=600)
    # Both secrets work during the grace; the old one's auth copy expires with it.
    assert client.get("/v1/domains", headers=_bearer(data["key"])).status_code == 200
    assert client.get("/v1/domains", headers=_bearer(old["key"])).status_code == 200
    auth_copy = store.get_key_by_hash(hash_key(old["key"]))
    assert auth_copy is not None
    assert auth_copy.expires_at == ends.replace(microsecond=auth_copy.expires_at.microsecond)


def test_a_rotation_without_grace_revokes_the_old_key_at_once_even_at_the_cap(
    client: TestClient, account: ApiAccount
) -> None:
    # The account starts with one live key; two more reach the cap of three.
    first = _new_key(client, account)
    _new_key(client, account)
    assert client.post("/v1/keys", headers=account.headers(), json={"name": "fourth"}).status_code == 409
    response = client.post(
        f"/v1/keys/{first['id']}/rotate", headers=account.headers(), json={"grace_seconds": 0}
    )
    assert response.status_code == 201
    assert response.json()["data"]["replaced"]["status"] == "revoked"
    refused = client.get("/v1/domains", headers=_bearer(first["key"]))
    assert refused.status_code == 401
    assert client.get("/v1/domains", headers=_bearer(response.json()["data"]["key"])).status_code == 200
    # Still three active keys: the rotation replaced one.
    assert client.post("/v1/keys", headers=account.headers(), json={"name": "fourth"}).status_code == 409


@pytest.mark.parametrize(
    "body", [{"grace_seconds": -1}, {"grace_seconds": 86_401}, {"expires_in_days": 0}, {"x": 1}]
)
def test_rotations_are_validated(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> None:
    key_id = _new_key(client, account)["id"]
    response = client.post(f"/v1/keys/{key_id}/rotate", headers=account.headers(), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
