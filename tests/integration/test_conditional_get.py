"""Conditional GETs (ETag / If-None-Match, seed 001) and the health check's timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from dmarcwatch.api.etag import etag_of, matches
from tests.integration.conftest import ApiAccount


def test_an_unchanged_list_answers_304_until_it_changes(client: TestClient, account: ApiAccount) -> None:
    headers = account.headers()
    client.post("/v1/domains", headers=headers, json={"domains": ["a.example"]})
    first = client.get("/v1/domains", headers=headers)
    second = client.get("/v1/domains", headers=headers)
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    assert first.json()["meta"]["request_id"] != second.json()["meta"]["request_id"]
    assert second.headers["ETag"] == tag
    unchanged = client.get("/v1/domains", headers={**headers, "If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == tag
    assert unchanged.headers["X-Request-Id"]
    assert "X-RateLimit-Remaining" in unchanged.headers
    for listed in (f'"other", {tag}', "*", tag.removeprefix("W/")):
        assert client.get("/v1/domains", headers={**headers, "If-None-Match": listed}).status_code == 304
    client.post("/v1/domains", headers=headers, json={"domains": ["b.example"]})
    changed = client.get("/v1/domains", headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert len(changed.json()["data"]) == 2


def test_another_tenants_tag_does_not_match_and_mutations_carry_none(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["mine.example"]})
    tag = client.get("/v1/domains", headers=account.headers()).headers["ETag"]
    theirs = client.get("/v1/domains", headers={**other_account.headers(), "If-None-Match": tag})
    assert theirs.status_code == 200
    assert theirs.json()["data"] == []
    created = client.post("/v1/domains", headers=account.headers(), json={"domains": ["more.example"]})
    assert "ETag" not in created.headers
    missing = client.get("/v1/domains/nope.example", headers={**account.headers(), "If-None-Match": "*"})
    assert missing.status_code == 404
    assert "ETag" not in missing.headers


def test_health_carries_the_servers_time(client: TestClient) -> None:
    data = client.get("/v1/health").json()["data"]
    moment = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
    assert abs(moment - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_tag_ignores_the_request_id_and_compares_weakly() -> None:
    one = etag_of(b'{"data": [1], "meta": {"request_id": "a", "total_count": 1}}')
    two = etag_of(b'{"meta": {"total_count": 1, "request_id": "b"}, "data": [1]}')
    other = etag_of(b'{"data": [2], "meta": {"request_id": "a", "total_count": 1}}')
    assert one is not None
    assert one == two != other
    assert etag_of(b"not json") is None
    assert matches(one, one)
    assert matches(f"{other}, {one}", one)
    assert not matches(None, one)
    assert not matches(str(other), one)
