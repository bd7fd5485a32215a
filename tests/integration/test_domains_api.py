"""Domains: add (one and bulk), list with search and cursors, get by id or name, lifecycle, tenancy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.plans import PlanName
from tests.integration.conftest import ApiAccount


def add(client: TestClient, account: ApiAccount, *names: str, environment: str = "live") -> dict[str, Any]:
    response = client.post("/v1/domains", headers=account.headers(environment), json={"domains": list(names)})
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_add_one_domain_returns_it_with_a_prefixed_id(client: TestClient, account: ApiAccount) -> None:
    response = client.post("/v1/domains", headers=account.headers(), json={"domain": "Example.COM."})
    assert response.status_code == 201
    domain = response.json()["data"]
    assert domain["id"].startswith("dom_")
    assert domain["domain"] == "example.com"
    assert domain["status"] == "active"
    assert domain["created_at"].endswith("Z")


def test_adding_the_same_domain_twice_is_a_conflict(client: TestClient, account: ApiAccount) -> None:
    assert (
        client.post("/v1/domains", headers=account.headers(), json={"domain": "example.org"}).status_code
        == 201
    )
    again = client.post("/v1/domains", headers=account.headers(), json={"domain": "EXAMPLE.org"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize("bad", ["192.0.2.1", "https://example.com", "not a domain", "localhost", "a@b.com"])
def test_adding_one_invalid_domain_is_a_validation_error_with_the_reason(
    client: TestClient, account: ApiAccount, bad: str
) -> None:
    response = client.post("/v1/domains", headers=account.headers(), json={"domain": bad})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "domain"
    assert error["details"][0]["issue"]


@pytest.mark.parametrize(
    "body",
    [{}, {"domain": "a.com", "domains": ["b.com"]}, {"domains": []}, {"domains": "a.com"}, {"domain": 5}],
)
def test_malformed_bodies_are_rejected(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> None:
    response = client.post("/v1/domains", headers=account.headers(), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_bulk_add_reports_invalid_ones_one_by_one_without_failing_the_valid(
    client: TestClient, account: ApiAccount
) -> None:
    add(client, account, "existing.example")
    result = add(
        client,
        account,
        "good-one.example",
        "GOOD-ONE.example",
        "bücher.example",
        "existing.example",
        "10.0.0.1",
        "http://url.example/path",
        "bad_label.example",
        "-leading.example",
        "second.example",
    )
    assert result["submitted"] == 9
    assert result["added"] == 3
    assert result["duplicates"] == 1
    assert result["existing"] == 1
    assert result["existing_domains"] == ["existing.example"]
    assert result["invalid"] == 4
    assert (
        result["scans_queued"] == 0
    )  # no scan queue here: all due on the schedule (queued: test_scan_requests)
    reasons = {item["domain"]: item["reason"] for item in result["invalid_domains"]}
    assert reasons == {
        "10.0.0.1": "ip_address",
        "http://url.example/path": "url",
        "bad_label.example": "invalid_idna",
        "-leading.example": "invalid_idna",
    }
    assert {d["domain"] for d in result["domains"]} == {
        "good-one.example",
        "xn--bcher-kva.example",
        "second.example",
    }


def test_bulk_add_of_more_than_500_is_refused(client: TestClient, account: ApiAccount) -> None:
    names = [f"d{i}.example" for i in range(501)]
    response = client.post("/v1/domains", headers=account.headers(), json={"domains": names})
    assert response.status_code == 400


def test_bulk_add_spanning_several_transactions(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    # 120 names cross two transaction chunks (49 domains each). A full 500 is slow only under moto, which
    # copies the table for every item of a transaction.
    big = make_account(PlanName.ENTERPRISE)
    add(client, big, "d007.example")
    result = add(client, big, *[f"d{i:03}.example" for i in range(120)])
    assert result["added"] == 119
    assert result["existing_domains"] == ["d007.example"]
    listed = client.get("/v1/domains?limit=1", headers=big.headers()).json()
    assert listed["meta"]["total_count"] == 120


def test_the_plan_allowance_admits_what_fits_and_reports_the_rest(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    free = make_account(PlanName.FREE)
    result = add(client, free, *[f"site{i}.example" for i in range(7)])
    assert result["added"] == 5
    assert [i["reason"] for i in result["invalid_domains"]] == ["plan_limit", "plan_limit"]
    one_more = client.post("/v1/domains", headers=free.headers(), json={"domain": "late.example"})
    assert one_more.status_code == 403
    assert one_more.json()["error"]["code"] == "forbidden"
    # Deleting one frees a slot.
    assert client.delete("/v1/domains/site0.example", headers=free.headers()).status_code == 200
    assert (
        client.post("/v1/domains", headers=free.headers(), json={"domain": "late.example"}).status_code == 201
    )


def test_get_by_id_by_name_and_by_unicode_name(client: TestClient, account: ApiAccount) -> None:
    created = add(client, account, "bücher.example")["domains"][0]
    for ref in (created["id"], "xn--bcher-kva.example", "bücher.example", "BÜCHER.example"):
        response = client.get(f"/v1/domains/{ref}", headers=account.headers())
        assert response.status_code == 200, ref
        assert response.json()["data"]["id"] == created["id"]


def test_deactivate_activate_and_delete(client: TestClient, account: ApiAccount) -> None:
    domain_id = add(client, account, "cycle.example")["domains"][0]["id"]
    off = client.post(f"/v1/domains/{domain_id}/deactivate", headers=account.headers())
    assert off.status_code == 200
    assert off.json()["data"]["status"] == "inactive"
    assert (
        client.get(f"/v1/domains/{domain_id}", headers=account.headers()).json()["data"]["status"]
        == "inactive"
    )
    on = client.post("/v1/domains/cycle.example/activate", headers=account.headers())
    assert on.json()["data"]["status"] == "active"
    assert client.delete(f"/v1/domains/{domain_id}", headers=account.headers()).status_code == 200
    assert (
        client.get(f"/v1/domains/{domain_id}", headers=account.headers()).json()["data"]["status"]
        == "removed"
    )
    assert client.get("/v1/account", headers=account.headers()).json()["data"]["usage"]["domains"] == 0
    purged = client.delete(f"/v1/domains/{domain_id}", headers=account.headers(), params={"purge": "true"})
    assert purged.json()["data"]["status"] == "purged"
    assert client.get(f"/v1/domains/{domain_id}", headers=account.headers()).status_code == 404
    assert client.delete(f"/v1/domains/{domain_id}", headers=account.headers()).status_code == 404


def test_cursor_pagination_walks_every_domain_once(client: TestClient, account: ApiAccount) -> None:
    names = {f"page{i:02}.example" for i in range(23)}
    add(client, account, *names)
    seen: list[str] = []
    url = "/v1/domains?limit=10"
    pages = 0
    while url:
        body = client.get(url, headers=account.headers()).json()
        pages += 1
        assert body["meta"]["limit"] == 10
        assert body["meta"]["total_count"] == 23
        seen.extend(d["domain"] for d in body["data"])
        next_url = body["meta"]["next"]
        assert (next_url is None) == (body["meta"]["next_cursor"] is None)
        url = next_url.removeprefix("http://testserver") if next_url else ""
    assert pages == 3
    assert seen == sorted(names)


def test_exact_multiple_of_the_page_size_has_no_empty_last_page(
    client: TestClient, account: ApiAccount
) -> None:
    add(client, account, *[f"even{i}.example" for i in range(4)])
    first = client.get("/v1/domains?limit=2", headers=account.headers()).json()
    second = client.get(
        f"/v1/domains?limit=2&cursor={first['meta']['next_cursor']}", headers=account.headers()
    ).json()
    assert len(second["data"]) == 2
    assert second["meta"]["next_cursor"] is None


def test_search_filters_and_paginates(client: TestClient, account: ApiAccount) -> None:
    add(client, account, *[f"shop{i}.example" for i in range(5)], *[f"blog{i}.example" for i in range(5)])
    first = client.get("/v1/domains?search=SHOP&limit=3", headers=account.headers()).json()
    assert [d["domain"] for d in first["data"]] == ["shop0.example", "shop1.example", "shop2.example"]
    assert first["meta"]["total_count"] == 5  # a COUNT of the filtered listing, on every page
    everything = client.get("/v1/domains?limit=3", headers=account.headers()).json()
    assert everything["meta"]["total_count"] == 10
    nothing = client.get("/v1/domains?search=nope&dmarc_status=reject", headers=account.headers()).json()
    assert (nothing["data"], nothing["meta"]["total_count"]) == ([], 0)
    cursor = first["meta"]["next_cursor"]
    second = client.get(f"/v1/domains?search=SHOP&limit=3&cursor={cursor}", headers=account.headers()).json()
    assert [d["domain"] for d in second["data"]] == ["shop3.example", "shop4.example"]
    assert second["meta"]["total_count"] == 5
    assert second["meta"]["next_cursor"] is None


@pytest.mark.parametrize("limit", [0, 1001, -1, "abc"])
def test_limit_out_of_range_is_a_validation_error(
    client: TestClient, account: ApiAccount, limit: object
) -> None:
    response = client.get(f"/v1/domains?limit={limit}", headers=account.headers())
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "query.limit"


def test_tampered_or_foreign_cursors_are_rejected(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    add(client, account, "c1.example", "c2.example", "c3.example")
    cursor = client.get("/v1/domains?limit=1", headers=account.headers()).json()["meta"]["next_cursor"]
    payload, signature = cursor.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for bad in (f"{flipped}.{signature}", f"{payload}.{signature[:-1]}x", "garbage", f"{payload}.", "."):
        response = client.get(f"/v1/domains?limit=1&cursor={bad}", headers=account.headers())
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"
    # Valid signature, wrong tenant or wrong query: still refused.
    assert (
        client.get(f"/v1/domains?limit=1&cursor={cursor}", headers=other_account.headers()).status_code == 400
    )
    assert (
        client.get(f"/v1/domains?limit=1&cursor={cursor}", headers=account.headers("test")).status_code == 400
    )
    assert (
        client.get(f"/v1/domains?search=c&limit=1&cursor={cursor}", headers=account.headers()).status_code
        == 400
    )
    assert client.get(f"/v1/domains?limit=1&cursor={cursor}", headers=account.headers()).status_code == 200


def test_another_account_gets_404_for_every_domain_id_and_name(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    domain_id = add(client, account, "private.example")["domains"][0]["id"]
    for ref in (domain_id, "private.example"):
        for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/activate"), ("POST", "/deactivate")):
            response = client.request(method, f"/v1/domains/{ref}{suffix}", headers=other_account.headers())
            assert response.status_code == 404, (method, ref, suffix)
            assert response.json()["error"]["code"] == "not_found"
            assert "private" not in response.text
    assert client.get("/v1/domains", headers=other_account.headers()).json()["data"] == []
    # The other account may monitor the same name independently.
    assert add(client, other_account, "private.example")["added"] == 1
    assert client.get(f"/v1/domains/{domain_id}", headers=account.headers()).status_code == 200


def test_test_environment_never_sees_live_domains(client: TestClient, account: ApiAccount) -> None:
    live_id = add(client, account, "live-only.example")["domains"][0]["id"]
    assert client.get("/v1/domains", headers=account.headers("test")).json()["data"] == []
    assert client.get(f"/v1/domains/{live_id}", headers=account.headers("test")).status_code == 404
    assert client.get("/v1/domains/live-only.example", headers=account.headers("test")).status_code == 404
    test_id = add(client, account, "live-only.example", environment="test")["domains"][0]["id"]
    assert test_id != live_id
    assert client.get(f"/v1/domains/{test_id}", headers=account.headers()).status_code == 404


def test_a_page_holds_up_to_a_thousand_domains(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    big = make_account(PlanName.ENTERPRISE)
    names = [f"bulk{i:04}.example" for i in range(1000)]
    for start in (0, 500):
        added = client.post(
            "/v1/domains", headers=big.headers(), json={"domains": names[start : start + 500]}
        )
        assert added.status_code == 201
    client.post("/v1/domains", headers=big.headers(), json={"domains": ["zz-last.example"]})
    page = client.get("/v1/domains?limit=1000", headers=big.headers()).json()
    assert [d["domain"] for d in page["data"]] == names
    assert page["meta"]["next_cursor"]
    rest = client.get(f"/v1/domains?limit=1000&cursor={page['meta']['next_cursor']}", headers=big.headers())
    assert [d["domain"] for d in rest.json()["data"]] == ["zz-last.example"]


def test_the_organization_path_lists_the_callers_own_domains_only(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    for name in ("one.example", "two.example", "three.example"):
        add(client, account, name)
    path = f"/v1/organizations/{account.id}/domains"
    listed = client.get(path, headers=account.headers(), params={"limit": 2})
    assert listed.status_code == 200
    page = listed.json()
    plain = client.get("/v1/domains", headers=account.headers(), params={"limit": 2}).json()
    assert page["data"] == plain["data"]
    assert page["meta"]["next"].startswith(f"http://testserver{path}?")
    rest = client.get(path, headers=account.headers(), params={"cursor": page["meta"]["next_cursor"]})
    assert [d["domain"] for d in rest.json()["data"]] == ["two.example"]
    # The test environment of the same account lists its own (empty) portfolio.
    assert client.get(path, headers=account.headers("test")).json()["data"] == []
    for headers, target in (
        (other_account.headers(), account.id),
        (account.headers(), other_account.id),
        (account.headers(), "acct_missing"),
    ):
        refused = client.get(f"/v1/organizations/{target}/domains", headers=headers)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
    assert client.get(path).status_code == 401


def test_the_detail_names_the_public_suffix(client: TestClient, account: ApiAccount) -> None:
    for name, suffix in (
        ("shop.example.co.uk", "co.uk"),
        ("example.com", "com"),
        ("bücher.example", "example"),
    ):
        add(client, account, name)
        detail = client.get(f"/v1/domains/{name}", headers=account.headers())
        assert detail.status_code == 200
        assert detail.json()["data"]["tld"] == suffix, name
