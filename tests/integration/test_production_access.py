"""Live keys work only for accounts with production access (issue 8 item 4); test keys always do."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_sandbox_accounts_live_key_is_refused_until_the_operator_grants_access(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmarcwatch import cli

    assert (
        cli.main(["admin", "create-account", "--email", "sandbox@example.com", "--no-production-access"]) == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["production_access"] is False
    live, test = _bearer(created["live_key"]), _bearer(created["test_key"])

    refused = client.get("/v1/domains", headers=live)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "production_access_required"
    assert "test key" in error["message"]
    sandbox = client.get("/v1/account", headers=test)
    assert sandbox.status_code == 200
    assert sandbox.json()["data"]["production_access"] is False
    assert client.post("/v1/domains", headers=test, json={"domains": ["try.example"]}).status_code == 201

    assert cli.main(["admin", "production-access", "--account", created["account_id"], "--grant"]) == 0
    assert json.loads(capsys.readouterr().out)["production_access"] is True
    granted = client.get("/v1/account", headers=live)
    assert granted.status_code == 200
    assert granted.json()["data"]["production_access"] is True

    assert cli.main(["admin", "production-access", "--account", created["account_id"], "--revoke"]) == 0
    capsys.readouterr()
    assert client.get("/v1/domains", headers=live).status_code == 403
    assert client.get("/v1/domains", headers=test).status_code == 200


def test_accounts_have_production_access_by_default_and_unknown_accounts_are_refused(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmarcwatch import cli

    assert cli.main(["admin", "create-account", "--email", "prod@example.com"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["production_access"] is True
    assert client.get("/v1/domains", headers=_bearer(created["live_key"])).status_code == 200
    assert cli.main(["admin", "production-access", "--account", "acct_missing", "--grant"]) == 1
    assert "not_found" in capsys.readouterr().err
