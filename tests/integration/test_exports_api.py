"""Exports over the API: validation, the queue and worker, the file through its presigned link, the cap on
exports in progress, scopes and tenancy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.export_model import QUEUED_STALE
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.services import exports as export_service
from dmarcwatch.store import aws, db, export_files
from tests.integration.conftest import ApiAccount
from tests.support.exports import (
    csv_rows,
    download,
    export_and_run,
    json_rows,
    queued_messages,
    run_export_queue,
    zip_member,
)


def add(client: TestClient, account: ApiAccount, *names: str, environment: str = "live") -> None:
    response = client.post("/v1/domains", headers=account.headers(environment), json={"domains": list(names)})
    assert response.status_code == 201, response.text


def listed(client: TestClient, account: ApiAccount, query: str = "") -> list[dict[str, Any]]:
    """GET /v1/domains paged to the end."""
    rows: list[dict[str, Any]] = []
    url: str | None = f"/v1/domains?limit=2{query}"
    while url:
        page = client.get(url, headers=account.headers()).json()
        rows.extend(page["data"])
        url = page["meta"]["next"]
    return rows


def create(client: TestClient, account: ApiAccount, body: dict[str, Any], environment: str = "live") -> Any:
    return client.post("/v1/exports", headers=account.headers(environment), json=body)


def error_of(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]["message"]
    return message


def test_a_csv_export_of_the_domains_equals_their_listing(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "b.example", "a.example", "c.example")
    export = export_and_run(client, account.headers(), {})
    assert export["status"] == "completed", export
    assert (export["row_count"], export["progress"], export["truncated"], export["error"]) == (
        3,
        100,
        False,
        None,
    )
    rows = csv_rows(download(export["file_url"]))
    domains = listed(client, account)
    assert [r["id"] for r in rows] == [d["id"] for d in domains]
    for row, domain in zip(rows, domains, strict=True):
        for name in ("domain", "unicode_domain", "status", "created_at", "updated_at", "next_scan_at"):
            assert row[name] == (domain[name] or ""), name
        assert row["verified"] == str(domain["verification"]["verified"]).lower()
    assert export["file_size"] == len(download(export["file_url"]))
    assert export["completed_at"]
    assert export["expires_at"] > export["completed_at"]
    assert export["file_url_expires_at"] > export["completed_at"]


def test_the_answer_is_202_with_an_exp_id_and_a_task_id(client: TestClient, account: ApiAccount) -> None:
    response = create(client, account, {"export_type": "csv", "dataset": "domains"})
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["id"].startswith("exp_")
    assert data["task_id"]
    assert (data["status"], data["progress"], data["file_url"], data["row_count"]) == ("queued", 0, None, 0)
    assert data["parameters"]["columns"][:2] == ["id", "domain"]
    (message,) = queued_messages()
    assert data["id"] in message["Body"]
    assert data["task_id"] in message["Body"]


def test_filters_narrow_the_export_as_they_narrow_the_list(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "shop.example", "mail.example", "shop.example.org")
    export = export_and_run(client, account.headers(), {"filters": {"search": "shop"}})
    assert [r["domain"] for r in csv_rows(download(export["file_url"]))] == [
        d["domain"] for d in listed(client, account, "&search=shop")
    ]
    assert export["row_count"] == 2


def test_json_and_zip_hold_the_same_rows_as_csv(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "one.example", "two.example")
    columns = ["domain", "verified", "tags", "created_at"]
    as_csv = csv_rows(download(export_and_run(client, account.headers(), {"columns": columns})["file_url"]))
    as_json = json_rows(
        download(
            export_and_run(client, account.headers(), {"export_type": "json", "columns": columns})["file_url"]
        )
    )
    zipped = export_and_run(client, account.headers(), {"export_type": "zip", "columns": columns})
    name, member = zip_member(download(zipped["file_url"]))
    assert name == f"domains-{zipped['id']}.csv"
    assert csv_rows(member) == as_csv
    assert [list(r) for r in as_json] == [columns, columns]
    assert [r["domain"] for r in as_json] == [r["domain"] for r in as_csv]
    assert as_json[0]["verified"] is False
    assert as_json[0]["tags"] == []
    assert as_csv[0]["verified"] == "false"


def test_columns_pick_and_order_the_fields(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "cols.example")
    export = export_and_run(client, account.headers(), {"columns": ["status", "domain"]})
    data = download(export["file_url"]).decode()
    assert data == "status,domain\r\nactive,cols.example\r\n"


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"export_type": "pdf"}, ["csv", "json", "zip", "diff"]),
        ({"dataset": "invoices"}, ["domains", "scan_results", "changes", "reports", "sources", "stats"]),
        ({"columns": ["domain", "colour"]}, ["'colour'", "id", "unicode_domain", "tags"]),
        ({"dataset": "reports", "columns": ["messages"]}, ["message_count", "org_name"]),
        ({"filters": {"colour": "red"}}, ["search", "email_gateway", "dmarc_status", "tags"]),
        ({"filters": {"dmarc_status": "sometimes"}}, ["dmarc_status"]),
        ({"export_type": "diff"}, ["since", "until"]),
        ({"since": "2026-01-01T00:00:00Z"}, ["changes", "reports"]),
    ],
)
def test_invalid_requests_are_400_naming_what_is_valid(
    client: TestClient, account: ApiAccount, body: dict[str, Any], names: list[str]
) -> None:
    response = create(client, account, body)
    message = error_of(response)
    assert response.json()["error"]["code"] == "validation_error"
    for name in names:
        assert name in message, message
    assert not queued_messages()


@pytest.mark.parametrize(
    "body",
    [
        {"columns": []},
        {"columns": ["domain", "domain"]},
        {
            "export_type": "diff",
            "dataset": "domains",
            "since": "2026-01-01T00:00:00Z",
            "until": "2026-02-01T00:00:00Z",
        },
        {"dataset": "changes", "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"dataset": "changes", "since": "2026-01-01T00:00:00"},
        {"dataset": "stats", "filters": {"start_date": "01/02/2026"}},
        {"dataset": "reports", "folder_id": "none"},
        {"format": "csv"},
    ],
)
def test_more_invalid_requests_are_400(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> None:
    response = create(client, account, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("validation_error", "invalid_date")


def test_seed_filter_names_are_accepted(client: TestClient, account: ApiAccount) -> None:
    response = create(client, account, {"filters": {"gateway": "Google Workspace", "dmarc_policy": "none"}})
    assert response.status_code == 202, response.text
    assert response.json()["data"]["parameters"]["filters"] == {
        "email_gateway": "Google Workspace",
        "dmarc_status": "none",
        "tags": [],
    }


def test_at_most_three_exports_are_in_progress_per_tenant(client: TestClient, account: ApiAccount) -> None:
    for _ in range(3):
        assert create(client, account, {}).status_code == 202
    refused = create(client, account, {})
    assert "at most 3" in error_of(refused, 429)
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["retry-after"] == "30"
    # The test environment has its own three.
    assert create(client, account, {}, environment="test").status_code == 202
    run_export_queue()
    assert create(client, account, {}).status_code == 202


def test_the_cap_holds_under_concurrent_requests(client: TestClient, account: ApiAccount) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: create(client, account, {}).status_code, range(8)))
    assert statuses == [202, 202, 202, 429, 429, 429, 429, 429]
    assert len(queued_messages()) == 3


def test_a_stale_queued_export_gives_its_slot_back(client: TestClient, account: ApiAccount) -> None:
    first = create(client, account, {}).json()["data"]
    for _ in range(2):
        create(client, account, {})
    assert create(client, account, {}).status_code == 429
    # The first one's message was lost long ago: it has been queued for longer than QUEUED_STALE.
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    old = db.ts(utcnow() - QUEUED_STALE - timedelta(minutes=1))
    db.table().update_item(
        Key=db.key(f"TENANT#{tenant.account_id}#live#EXPORTS", f"EXPORT#{first['id']}"),
        UpdateExpression="SET heartbeat_at = :old",
        ExpressionAttributeValues={":old": old},
    )
    assert create(client, account, {}).status_code == 202
    stalled = client.get(f"/v1/exports/{first['id']}", headers=account.headers()).json()["data"]
    assert stalled["status"] == "failed"
    assert "stalled" in stalled["error"]
    assert export_service.sweep_stale(tenant, utcnow()) == 0


def test_the_list_is_newest_first_with_cursors(client: TestClient, account: ApiAccount) -> None:
    ids = []
    for _ in range(2):
        for _ in range(3):
            ids.append(create(client, account, {}).json()["data"]["id"])
        run_export_queue()
    seen: list[str] = []
    url: str | None = "/v1/exports?limit=4"
    while url:
        page = client.get(url, headers=account.headers()).json()
        seen.extend(e["id"] for e in page["data"])
        assert all(e["status"] == "completed" and e["file_url"] for e in page["data"])
        url = page["meta"]["next"]
    assert seen == ids[::-1]


def test_delete_removes_the_export_and_its_file(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "gone.example")
    export = export_and_run(client, account.headers(), {})
    deleted = client.delete(f"/v1/exports/{export['id']}", headers=account.headers())
    assert deleted.status_code == 200
    assert deleted.json()["data"] == {"id": export["id"], "deleted": True}
    assert client.get(f"/v1/exports/{export['id']}", headers=account.headers()).status_code == 404
    assert client.delete(f"/v1/exports/{export['id']}", headers=account.headers()).status_code == 404
    listing = aws.client("s3").list_objects_v2(
        Bucket=export_files._bucket(), Prefix=f"exports/{account.id}/live/{export['id']}"
    )
    assert listing.get("KeyCount", 0) == 0


def test_deleting_a_queued_export_frees_its_slot_and_the_worker_skips_it(
    client: TestClient, account: ApiAccount
) -> None:
    queued = [create(client, account, {}).json()["data"]["id"] for _ in range(3)]
    assert client.delete(f"/v1/exports/{queued[0]}", headers=account.headers()).status_code == 200
    assert create(client, account, {}).status_code == 202
    assert run_export_queue() == 4
    statuses = [e["status"] for e in client.get("/v1/exports", headers=account.headers()).json()["data"]]
    assert statuses == ["completed"] * 3


def test_a_read_key_reads_but_cannot_create_or_delete(client: TestClient, account: ApiAccount) -> None:
    export_id = create(client, account, {}).json()["data"]["id"]
    reader = client.post("/v1/keys", headers=account.headers(), json={"name": "r", "scope": "read"}).json()
    headers = {"Authorization": f"Bearer {reader['data']['key']}"}
    assert client.get("/v1/exports", headers=headers).status_code == 200
    assert client.get(f"/v1/exports/{export_id}", headers=headers).status_code == 200
    for response in (
        client.post("/v1/exports", headers=headers, json={}),
        client.delete(f"/v1/exports/{export_id}", headers=headers),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/exports").status_code == 401
    assert client.post("/v1/exports", json={}).status_code == 401


def test_exports_are_invisible_to_other_tenants(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    add(client, account, "mine.example")
    live = export_and_run(client, account.headers(), {})
    test_export = create(client, account, {}, environment="test").json()["data"]
    for headers in (other_account.headers(), account.headers("test")):
        assert client.get(f"/v1/exports/{live['id']}", headers=headers).status_code == 404
        assert client.delete(f"/v1/exports/{live['id']}", headers=headers).status_code == 404
        assert live["id"] not in client.get("/v1/exports", headers=headers).text
    # Test-environment exports never appear in live.
    live_list = client.get("/v1/exports", headers=account.headers()).json()["data"]
    assert [e["id"] for e in live_list] == [live["id"]]
    assert client.get(f"/v1/exports/{test_export['id']}", headers=account.headers()).status_code == 404
    # Another tenant's domain or folder cannot be named in a request.
    other_domain = client.post(
        "/v1/domains", headers=other_account.headers(), json={"domain": "theirs.example"}
    )
    foreign = create(
        client, account, {"dataset": "stats", "filters": {"domain_id": other_domain.json()["data"]["id"]}}
    )
    assert foreign.status_code == 404
    assert create(client, account, {"folder_id": "fld_" + "x" * 20}).status_code == 404


def test_an_unknown_export_id_is_404(client: TestClient, account: ApiAccount) -> None:
    for export_id in ("exp_" + "a" * 20, "not-an-id"):
        assert client.get(f"/v1/exports/{export_id}", headers=account.headers()).status_code == 404
