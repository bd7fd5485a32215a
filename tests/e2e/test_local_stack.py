"""The README's quick start, over real HTTP against the local stack, and the admin CLI against it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_quick_start_account_call(local_stack: LocalStack) -> None:
    response = httpx.get(f"{local_stack.api}/account", headers=bearer(local_stack.key))
    assert response.status_code == 200
    assert response.json()["data"]["plan"]["name"] == "pro"
    assert response.headers["x-request-id"]
    assert response.headers["x-ratelimit-limit"] == "300"
    assert httpx.get(f"{local_stack.api}/health").json()["data"]["status"] == "ok"
    assert httpx.get(f"{local_stack.api}/openapi.json").json()["info"]["title"] == "dmarcwatch API"


def create_account(stack: LocalStack, email: str, plan: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "dmarcwatch.cli", "admin", "create-account", "--email", email, "--plan", plan],
        env=stack.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    created: dict[str, str] = json.loads(result.stdout)
    return created


def test_admin_cli_creates_accounts_with_gateway_keys_that_work(local_stack: LocalStack) -> None:
    created = create_account(local_stack, "ops@example.com", "free")
    assert created["gateway_key_id"]
    assert created["live_key"].startswith("dmw_live_")
    account = httpx.get(f"{local_stack.api}/account", headers=bearer(created["live_key"])).json()["data"]
    assert account["id"] == created["account_id"]
    assert account["plan"]["name"] == "free"
    duplicate = subprocess.run(
        [sys.executable, "-m", "dmarcwatch.cli", "admin", "create-account", "--email", "OPS@example.com"],
        env=local_stack.cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert duplicate.returncode == 1
    assert "conflict" in duplicate.stderr


def test_domains_keys_and_tenancy_over_http(local_stack: LocalStack) -> None:
    owner = create_account(local_stack, "owner@example.com", "pro")
    stranger = create_account(local_stack, "stranger@example.com", "pro")
    with httpx.Client(base_url=local_stack.api, headers=bearer(owner["live_key"])) as api:
        names = [f"site{i:02}.example" for i in range(60)] + ["not a domain", "192.0.2.1"]
        added = api.post("/domains", json={"domains": names}).json()["data"]
        assert (added["added"], added["invalid"]) == (60, 2)
        seen: list[str] = []
        next_url: str | None = "/domains?limit=25"
        while next_url:
            page = api.get(next_url).json()
            seen.extend(d["domain"] for d in page["data"])
            next_url = page["meta"]["next"]
        assert seen == sorted(names[:60])
        one = api.get("/domains/site07.example").json()["data"]
        key = api.post("/keys", json={"name": "temporary"}).json()["data"]
    foreign = httpx.get(f"{local_stack.api}/domains/{one['id']}", headers=bearer(stranger["live_key"]))
    assert foreign.status_code == 404
    assert httpx.get(f"{local_stack.api}/domains", headers=bearer(owner["test_key"])).json()["data"] == []
    assert httpx.get(f"{local_stack.api}/account", headers=bearer(key["key"])).status_code == 200
    httpx.delete(f"{local_stack.api}/keys/{key['id']}", headers=bearer(owner["live_key"]))
    revoked = httpx.get(f"{local_stack.api}/account", headers=bearer(key["key"]))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "invalid_api_key"
