"""Authentication, the error envelope, request ids and rate limiting, across every endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.api.registry import API_PREFIX, route_specs
from dmarcwatch.auth import ratelimit
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import SubscriptionStatus
from dmarcwatch.plans import Plan, PlanName
from tests.integration.conftest import ApiAccount

PROTECTED = [
    (s.method, API_PREFIX + s.path.replace("{key_id}", "key_x").replace("{domain_id}", "example.com"))
    for s in route_specs()
    if not s.public
]


def assert_envelope(response_json: dict[str, object], code: str) -> None:
    error = response_json["error"]
    assert isinstance(error, dict)
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"]
    assert isinstance(error["details"], list)


def test_health_needs_no_key_and_carries_a_request_id(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "ok"
    assert response.headers["X-Request-Id"] == response.json()["meta"]["request_id"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer dmw_live_short", "Bearer " + "dmw_live_" + "a" * 38],
)
def test_every_protected_endpoint_rejects_missing_and_bad_keys(
    client: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert_envelope(response.json(), "invalid_api_key")
    assert response.headers["X-Request-Id"] == response.json()["error"]["request_id"]


def test_unknown_endpoint_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert_envelope(response.json(), "not_found")


def test_wrong_method_is_a_405_envelope(client: TestClient, account: ApiAccount) -> None:
    response = client.put("/v1/account", headers=account.headers())
    assert response.status_code == 405
    assert_envelope(response.json(), "method_not_allowed")


def test_authenticated_responses_carry_rate_headers(client: TestClient, account: ApiAccount) -> None:
    first = client.get("/v1/account", headers=account.headers())
    second = client.get("/v1/account", headers=account.headers())
    assert first.status_code == second.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "300"
    assert int(first.headers["X-RateLimit-Remaining"]) == int(second.headers["X-RateLimit-Remaining"]) + 1
    assert int(first.headers["X-RateLimit-Reset"]) > 0
    assert first.headers["X-API-Quota-Limit"] == "10000"
    assert int(second.headers["X-API-Quota-Used"]) == int(first.headers["X-API-Quota-Used"]) + 1
    # Errors after authentication carry them too.
    missing = client.get("/v1/domains/dom_AAAAAAAAAAAAAAAAAAAA", headers=account.headers())
    assert missing.status_code == 404
    assert "X-RateLimit-Remaining" in missing.headers


def limits(per_minute: int, per_day: int | None, name: PlanName = PlanName.FREE) -> Plan:
    """A plan with these request limits (the rest does not matter to the limiter)."""
    return Plan(
        name=name,
        requests_per_minute=per_minute,
        requests_per_day=per_day,
        domains_allowed=1,
        scan_interval_hours=24,
        requested_scans_per_hour=20,
    )


@pytest.fixture
def frozen_minute(monkeypatch: pytest.MonkeyPatch) -> float:
    """Pin the limiter's clock 20 s into a minute, so a test's requests cannot straddle two windows."""
    now = (time.time() // 60) * 60 + 20
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    return now


@pytest.mark.usefixtures("frozen_minute")
def test_the_free_plans_per_minute_limit_gives_429_with_retry_after(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    free = make_account(PlanName.FREE)
    statuses = [client.get("/v1/account", headers=free.headers()).status_code for _ in range(60)]
    assert statuses == [200] * 60
    limited = client.get("/v1/account", headers=free.headers())
    assert limited.status_code == 429
    assert_envelope(limited.json(), "rate_limit_exceeded")
    assert limited.headers["Retry-After"] == "40"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # The limit is per account: the test key shares it, another account does not.
    assert client.get("/v1/account", headers=free.headers("test")).status_code == 429
    assert client.get("/v1/account", headers=make_account(PlanName.FREE).headers()).status_code == 200


def test_daily_quota_gives_quota_exceeded_and_refused_calls_are_not_counted(aws: None) -> None:
    tiny = limits(100, 3)
    now = 1_800_000_000.0
    for used in range(1, 4):
        assert ratelimit.check_and_count("acct_quota", tiny, now).quota_used == used
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            ratelimit.check_and_count("acct_quota", tiny, now)
        assert refused.value.code == ErrorCode.QUOTA_EXCEEDED
        assert refused.value.headers["X-API-Quota-Used"] == "3"
        assert int(refused.value.headers["Retry-After"]) > 0
    # The next UTC day starts afresh.
    assert ratelimit.check_and_count("acct_quota", tiny, now + 86_400).quota_used == 1


def test_a_new_minute_starts_its_count_afresh_and_the_day_keeps_counting(aws: None) -> None:
    plan = limits(2, 5)
    minute = (1_800_000_000 // 60) * 60.0
    used = [ratelimit.check_and_count("acct_roll", plan, minute + 1).quota_used for _ in range(2)]
    with pytest.raises(ApiError) as refused:
        ratelimit.check_and_count("acct_roll", plan, minute + 2)
    assert refused.value.code == ErrorCode.RATE_LIMIT_EXCEEDED
    assert refused.value.headers["X-API-Quota-Used"] == "2"
    used += [ratelimit.check_and_count("acct_roll", plan, minute + 61).quota_used for _ in range(2)]
    used.append(ratelimit.check_and_count("acct_roll", plan, minute + 125).quota_used)
    assert used == [1, 2, 3, 4, 5]
    with pytest.raises(ApiError) as over_quota:
        ratelimit.check_and_count("acct_roll", plan, minute + 190)
    assert over_quota.value.code == ErrorCode.QUOTA_EXCEEDED
    assert ratelimit.calls_today("acct_roll", datetime.fromtimestamp(minute, UTC)) == 5


def test_a_call_costs_one_write_whether_it_is_counted_or_refused(aws: None) -> None:
    from dmarcwatch.store import aws as aws_clients

    plan = limits(3, None)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = aws_clients.resource("dynamodb").meta.client.meta.events
    events.register("before-call.dynamodb", record)
    try:
        now = (1_800_000_000 // 60) * 60.0 + 5
        ratelimit.check_and_count("acct_cost", plan, now)  # the minute's first call starts its window
        for _ in range(2):
            calls.clear()
            ratelimit.check_and_count("acct_cost", plan, now)
            assert calls == ["UpdateItem"]
        for _ in range(3):
            calls.clear()
            with pytest.raises(ApiError):
                ratelimit.check_and_count("acct_cost", plan, now)
            assert calls == ["UpdateItem"]
    finally:
        events.unregister("before-call.dynamodb", record)


def test_unlimited_daily_quota_is_reported_as_unlimited(aws: None) -> None:
    enterprise = limits(5, None, PlanName.ENTERPRISE)
    status = ratelimit.check_and_count("acct_ent", enterprise, 1_800_000_000.0)
    assert status.headers()["X-API-Quota-Limit"] == "unlimited"


@pytest.mark.usefixtures("frozen_minute")
def test_repeated_failed_authentication_from_one_address_is_throttled(
    client: TestClient, account: ApiAccount
) -> None:
    bad = {"Authorization": "Bearer dmw_live_" + "b" * 38}
    statuses = [client.get("/v1/account", headers=bad).status_code for _ in range(31)]
    assert statuses[:30] == [401] * 30
    assert statuses[30] == 429
    assert "Retry-After" in client.get("/v1/account", headers=bad).headers
    # A valid key from the same address still works: the counter only slows key guessing.
    assert client.get("/v1/account", headers=account.headers()).status_code == 200


def test_revoked_key_is_refused_on_the_very_next_request(client: TestClient, account: ApiAccount) -> None:
    created = client.post("/v1/keys", headers=account.headers(), json={"name": "ci"}).json()["data"]
    new_headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/v1/account", headers=new_headers).status_code == 200
    assert client.delete(f"/v1/keys/{created['id']}", headers=account.headers()).status_code == 200
    refused = client.get("/v1/account", headers=new_headers)
    assert refused.status_code == 401
    assert_envelope(refused.json(), "invalid_api_key")


def test_expired_key_gets_key_expired(client: TestClient, account: ApiAccount) -> None:
    from dmarcwatch.models import Environment, utcnow
    from dmarcwatch.services.keys import new_key
    from dmarcwatch.store import accounts as store

    issued = new_key(account.id, Environment.LIVE, "old", 1, utcnow() - timedelta(days=2))
    store.put_key(issued.key)
    response = client.get("/v1/account", headers={"Authorization": f"Bearer {issued.secret}"})
    assert response.status_code == 401
    assert_envelope(response.json(), "key_expired")


def test_unexpected_errors_are_a_500_envelope_without_internals(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarcwatch.services import accounts

    def explode(*_: object) -> None:
        raise RuntimeError("secret internal detail /var/task/x.py")

    monkeypatch.setattr(accounts, "usage", explode)
    response = client.get("/v1/account", headers=account.headers())
    assert response.status_code == 500
    assert_envelope(response.json(), "internal_error")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["X-Request-Id"]


def test_validation_errors_list_each_field(client: TestClient, account: ApiAccount) -> None:
    response = client.post("/v1/keys", headers=account.headers(), json={"name": "", "expires_in_days": 0})
    assert response.status_code == 400
    assert_envelope(response.json(), "validation_error")
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {"name", "expires_in_days"}


def test_malformed_json_body_is_a_validation_error(client: TestClient, account: ApiAccount) -> None:
    response = client.post(
        "/v1/domains", headers={**account.headers(), "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 400
    assert_envelope(response.json(), "validation_error")


def test_canceled_subscription_gets_subscription_required(client: TestClient, account: ApiAccount) -> None:
    from dmarcwatch.models import SubscriptionStatus
    from dmarcwatch.services import admin

    admin.set_subscription(account.id, SubscriptionStatus.CANCELED)
    response = client.get("/v1/domains", headers=account.headers())
    assert response.status_code == 403
    assert_envelope(response.json(), "subscription_required")
    admin.set_subscription(account.id, SubscriptionStatus.ACTIVE)
    assert client.get("/v1/domains", headers=account.headers()).status_code == 200


def test_authentication_reads_the_account_once_per_few_seconds_and_sees_changes_made_elsewhere(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account behind a key is kept per process for RECENT_ACCOUNT_SECONDS; a change another process
    made (written here straight to the table) shows once that has passed, one made here at once."""
    from dmarcwatch import table as t
    from dmarcwatch.services import admin
    from dmarcwatch.store import accounts as account_store
    from dmarcwatch.store import db

    clock = [1_000.0]
    monkeypatch.setattr(account_store, "clock", lambda: clock[0])
    assert client.get("/v1/domains", headers=account.headers()).status_code == 200
    db.table().update_item(
        Key=db.key(t.account_pk(account.id), t.ACCOUNT_SK),
        UpdateExpression="SET subscription_status = :s",
        ExpressionAttributeValues={":s": "canceled"},
    )
    clock[0] += account_store.RECENT_ACCOUNT_SECONDS
    assert client.get("/v1/domains", headers=account.headers()).status_code == 200
    clock[0] += 0.5
    assert client.get("/v1/domains", headers=account.headers()).json()["error"]["code"] == (
        "subscription_required"
    )
    admin.set_subscription(account.id, SubscriptionStatus.ACTIVE)
    assert client.get("/v1/domains", headers=account.headers()).status_code == 200


def test_cursor_secret_comes_from_secrets_manager_when_deployed(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarcwatch.config import get_settings
    from dmarcwatch.store import aws as aws_clients
    from dmarcwatch.store.secrets import cursor_secret

    arn = aws_clients.client("secretsmanager").create_secret(
        Name="cursor-test", SecretString="s3cr3t-from-sm"
    )["ARN"]
    monkeypatch.setenv("DMARCWATCH_CURSOR_SECRET_ARN", arn)
    get_settings.cache_clear()
    cursor_secret.cache_clear()
    try:
        assert cursor_secret() == b"s3cr3t-from-sm"
    finally:
        monkeypatch.delenv("DMARCWATCH_CURSOR_SECRET_ARN")
        get_settings.cache_clear()
        cursor_secret.cache_clear()


def test_admin_plan_change_applies_at_once_and_moves_the_gateway_key(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    from dmarcwatch.services import admin
    from dmarcwatch.store import accounts as account_store
    from dmarcwatch.store import aws as aws_clients
    from dmarcwatch.store import gateway

    free = make_account(PlanName.FREE)
    assert client.get("/v1/account", headers=free.headers()).headers["X-RateLimit-Limit"] == "60"
    admin.set_plan(free.id, PlanName.ENTERPRISE)
    response = client.get("/v1/account", headers=free.headers())
    assert response.headers["X-RateLimit-Limit"] == "1000"
    assert response.json()["data"]["plan"]["name"] == "enterprise"
    stored = account_store.get_account(free.id)
    assert stored is not None
    plans = gateway.usage_plan_ids()
    assert plans is not None
    apigw = aws_clients.client("apigateway")
    in_plan = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plans["enterprise"])["items"]}
    was_in = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=plans["free"])["items"]}
    assert stored.gateway_key_id in in_plan
    assert stored.gateway_key_id not in was_in
