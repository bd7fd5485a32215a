"""POST /v1/domains/{id}/verify against the fixture DNS server (tests/dns/zones/verify.test.zone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch import table as t
from dmarcwatch.events import DomainUnverified, EventType
from dmarcwatch.ingest import routing
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.scanning.service import scan_and_record, withdraw_verification
from dmarcwatch.services import domains, verification
from dmarcwatch.store.db import key, parse_ts, table, ts
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


# --- verification does not last for ever (review L1) --------------------------------------------------------


def mark_verified(account: ApiAccount, name: str, at: datetime, checked: datetime | None = None) -> None:
    """Verified at `at`, and with `checked` the token last seen again then."""
    update, values = "SET verified_at = :at", {":at": ts(at)}
    if checked is not None:
        update, values[":checked"] = f"{update}, verification_checked_at = :checked", ts(checked)
    table().update_item(
        Key=key(t.tenant_pk(account.id, "live"), t.domain_sk(name)),
        UpdateExpression=update,
        ExpressionAttributeValues=values,
    )


def domain_item(account: ApiAccount, name: str) -> dict[str, object]:
    return dict(table().get_item(Key=key(t.tenant_pk(account.id, "live"), t.domain_sk(name)))["Item"])


def shared_owners(name: str) -> list[str]:
    return [tenant.account_id for tenant in routing.shared_tenants(name)]


def test_verifying_again_withdraws_a_verification_whose_token_is_gone(
    client: TestClient, account: ApiAccount
) -> None:
    """The domain changed hands: neither gone.verify.test nor _dmarcwatch.gone.verify.test exists now."""
    domain_id = add_with_token(client, account, "gone.verify.test", "OldTokenOldTokenOldToken")
    mark_verified(account, "gone.verify.test", utcnow() - timedelta(days=400), utcnow() - timedelta(days=1))
    assert shared_owners("gone.verify.test") == [account.id]
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (False, "token_not_found")
    assert "withdrawn" in result["detail"]
    assert "verified_at" not in domain_item(account, "gone.verify.test")
    assert shared_owners("gone.verify.test") == []
    [withdrawn] = recent_events(account.id, "live")
    assert withdrawn.payload == DomainUnverified(domain_id=domain_id, domain="gone.verify.test")


def test_verifying_again_keeps_the_verification_when_the_dns_fails(
    client: TestClient, account: ApiAccount
) -> None:
    domain_id = add_with_token(client, account, "www.servfail.test", "AnyTokenAnyTokenAnyToken")
    mark_verified(account, "www.servfail.test", utcnow() - timedelta(days=400))
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (True, "already_verified")
    assert "SERVFAIL" in result["detail"]
    assert "verified_at" in domain_item(account, "www.servfail.test")
    # Kept, but not seen for 400 days: the shared address no longer trusts it.
    assert shared_owners("www.servfail.test") == []


def test_verifying_again_where_the_token_is_seen_makes_the_verification_fresh(
    client: TestClient, account: ApiAccount
) -> None:
    domain_id = add_with_token(client, account, "sub.verify.test", "SubTokenSubTokenSubToken")
    mark_verified(account, "sub.verify.test", utcnow() - timedelta(days=400), utcnow() - timedelta(days=40))
    assert shared_owners("sub.verify.test") == []
    result = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers()).json()["data"]
    assert (result["verified"], result["status"]) == (True, "already_verified")
    checked = parse_ts(domain_item(account, "sub.verify.test")["verification_checked_at"])
    assert checked is not None
    assert checked > utcnow() - timedelta(minutes=1)
    assert shared_owners("sub.verify.test") == [account.id]


@pytest.mark.parametrize(
    ("name", "token", "still_verified", "checked"),
    [
        ("sub.verify.test", "SubTokenSubTokenSubToken", True, True),
        ("gone.verify.test", "OldTokenOldTokenOldToken", False, False),
        # Someone else's token is published there now: answered, not ours.
        ("wrong.verify.test", "MyOwnTokenMyOwnTokenMyOw", False, False),
        ("www.servfail.test", "AnyTokenAnyTokenAnyToken", True, False),
    ],
)
def test_every_scan_of_a_verified_domain_looks_for_its_token_again(
    client: TestClient, account: ApiAccount, name: str, token: str, still_verified: bool, checked: bool
) -> None:
    add_with_token(client, account, name, token)
    mark_verified(account, name, utcnow() - timedelta(days=3))
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    scan_and_record(tenant, domains.resolve(tenant, name))
    item = domain_item(account, name)
    assert ("verified_at" in item, "verification_checked_at" in item) == (still_verified, checked)
    assert shared_owners(name) == ([account.id] if still_verified else [])
    kinds = [event.payload.type for event in recent_events(account.id, "live")]
    assert kinds.count(EventType.DOMAIN_UNVERIFIED) == (0 if still_verified else 1)


def test_a_verification_made_meanwhile_is_not_withdrawn(client: TestClient, account: ApiAccount) -> None:
    add_with_token(client, account, "gone.verify.test", "OldTokenOldTokenOldToken")
    checked = utcnow() - timedelta(days=3)
    mark_verified(account, "gone.verify.test", utcnow())  # verified again after the check began
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    as_checked = domains.resolve(tenant, "gone.verify.test").model_copy(update={"verified_at": checked})
    assert withdraw_verification(tenant, as_checked) is False
    assert "verified_at" in domain_item(account, "gone.verify.test")
    assert recent_events(account.id, "live") == []


def verify(client: TestClient, account: ApiAccount, domain_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/domains/{domain_id}/verify", headers=account.headers())
    return dict(response.json()["data"])


def test_a_withdrawal_and_a_new_verification_are_events_of_their_own(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verification after a withdrawal is a new domain.verified event, not a duplicate of the first."""
    domain_id = add_with_token(client, account, "sub.verify.test", "SubTokenSubTokenSubToken")
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    first = utcnow() - timedelta(days=2)
    monkeypatch.setattr(verification, "utcnow", lambda: first)
    assert verify(client, account, domain_id)["status"] == "verified"
    # A scan found the token gone (the owner moved it, say) ...
    verified = domains.resolve(tenant, domain_id)
    assert withdraw_verification(tenant, verified, first + timedelta(hours=12)) is True
    # ... and withdrawing that verification again changes nothing and writes no second event.
    assert withdraw_verification(tenant, verified, first + timedelta(hours=13)) is False
    # The token is back: verified again.
    monkeypatch.setattr(verification, "utcnow", lambda: first + timedelta(days=1))
    assert verify(client, account, domain_id)["status"] == "verified"
    events = list(reversed(recent_events(account.id, "live")))
    assert [event.payload.type for event in events] == [
        EventType.DOMAIN_VERIFIED,
        EventType.DOMAIN_UNVERIFIED,
        EventType.DOMAIN_VERIFIED,
    ]
    assert len({event.id for event in events}) == 3
    assert {event.payload.model_dump()["domain_id"] for event in events} == {domain_id}
