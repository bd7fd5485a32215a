"""The Lambda entry points: API groups under Mangum with API Gateway REST events, and the authorizer."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from dmarcwatch.store import accounts as account_store
from tests.integration.conftest import ApiAccount


class FakeContext:
    function_name = "dmarcwatch-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarcwatch-test"
    memory_limit_in_mb = 512
    aws_request_id = "lambda-request-1"
    log_group_name = "/aws/lambda/dmarcwatch-test"
    log_stream_name = "stream"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def rest_event(method: str, path: str, key: str | None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": "gw-request-42",
            "stage": "v1",
            "httpMethod": method,
            "path": f"/v1{path}",
            "identity": {"sourceIp": "198.51.100.7"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def handler_of(function_dir: str) -> Any:
    return importlib.import_module(f"functions.{function_dir}.handler").handler


def test_domains_function_serves_its_routes_without_the_stage_prefix(aws: None, account: ApiAccount) -> None:
    handler = handler_of("api_domains")
    created = handler(
        rest_event("POST", "/domains", account.live_key, {"domain": "lambda.example"}), FakeContext()
    )
    assert created["statusCode"] == 201
    assert created["headers"]["x-request-id"] == "gw-request-42"
    listing = handler(rest_event("GET", "/domains", account.live_key), FakeContext())
    body = json.loads(listing["body"])
    assert [d["domain"] for d in body["data"]] == ["lambda.example"]
    assert listing["headers"]["x-ratelimit-limit"] == "300"


def test_next_links_point_at_the_stage_url(aws: None, account: ApiAccount) -> None:
    handler = handler_of("api_domains")
    handler(
        rest_event("POST", "/domains", account.live_key, {"domains": ["a.example", "b.example"]}),
        FakeContext(),
    )
    event = rest_event("GET", "/domains", account.live_key)
    event["queryStringParameters"] = {"limit": "1"}
    event["multiValueQueryStringParameters"] = {"limit": ["1"]}
    body = json.loads(handler(event, FakeContext())["body"])
    assert body["meta"]["next"].startswith(
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1/domains?limit=1&cursor="
    )


def test_a_group_function_does_not_serve_other_groups(aws: None, account: ApiAccount) -> None:
    response = handler_of("api_meta")(rest_event("GET", "/domains", account.live_key), FakeContext())
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


def test_meta_function_health_and_account_function(aws: None, account: ApiAccount) -> None:
    assert handler_of("api_meta")(rest_event("GET", "/health", None), FakeContext())["statusCode"] == 200
    response = handler_of("api_account")(rest_event("GET", "/account", "dmw_live_nope"), FakeContext())
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["request_id"] == "gw-request-42"


def test_a_handler_still_answers_after_asyncio_run_on_its_thread(aws: None) -> None:
    """`asyncio.run` leaves the thread without an event loop; Mangum needs one for every request."""
    import asyncio

    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    asyncio.set_event_loop(None)  # what asyncio.run leaves on the main thread outside pytest's plugins
    assert handler_of("api_meta")(rest_event("GET", "/health", None), FakeContext())["statusCode"] == 200


def token_event(token: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/domains",
    }


def test_authorizer_allows_a_valid_key_with_tenant_context_and_usage_key(
    aws: None, account: ApiAccount
) -> None:
    handler = handler_of("authorizer")
    policy = handler(token_event(f"Bearer {account.live_key}"), FakeContext())
    stored = account_store.get_account(account.id)
    assert stored is not None
    assert stored.gateway_key_value
    assert policy["usageIdentifierKey"] == stored.gateway_key_value
    assert policy["context"]["account_id"] == account.id
    assert policy["context"]["environment"] == "live"
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"]


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer dmw_live_x", "Bearer " + "dmw_test_" + "a" * 38])
def test_authorizer_refuses_bad_tokens_with_unauthorized(aws: None, token: str) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler_of("authorizer")(token_event(token), FakeContext())


def test_authorizer_refuses_a_revoked_key(aws: None, account: ApiAccount) -> None:
    from dmarcwatch.auth.apikeys import hash_key
    from dmarcwatch.models import utcnow

    key = account_store.get_key_by_hash(hash_key(account.live_key))
    assert key is not None
    account_store.revoke_key(key, utcnow())
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        handler_of("authorizer")(token_event(f"Bearer {account.live_key}"), FakeContext())


def test_authorizer_denies_an_expired_key_naming_the_reason(aws: None, account: ApiAccount) -> None:
    from datetime import timedelta

    from dmarcwatch.models import Environment, utcnow
    from dmarcwatch.services.keys import new_key

    issued = new_key(account.id, Environment.LIVE, "old", 1, utcnow() - timedelta(days=2))
    account_store.put_key(issued.key)
    policy = handler_of("authorizer")(token_event(f"Bearer {issued.secret}"), FakeContext())
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert policy["context"]["error_code"] == "key_expired"
    assert "usageIdentifierKey" not in policy
