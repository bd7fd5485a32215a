"""Reports, statistics, sources and quarantine over the API: success, validation, tenancy."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml, report_mail
from tests.support.worker import drain_ingest_queue

ROWS = [
    Row("192.0.2.1", 10),
    Row("192.0.2.2", 5, dkim="fail"),
    Row("198.51.100.9", 2, "fail", "fail", "reject"),
]


def upload(client: TestClient, account: ApiAccount, body: bytes, environment: str = "live") -> dict[str, Any]:
    """Upload (202, pending), let the parser worker run, and return how it ended with the stored reports."""
    headers = account.headers(environment)
    response = client.post("/v1/reports", headers=headers, content=body)
    assert response.status_code == 202, response.text
    queued: dict[str, Any] = response.json()["data"]
    assert queued["status"] == "pending"
    assert queued["status_url"] == f"/v1/uploads/{queued['id']}"
    assert drain_ingest_queue() == 1
    job = client.get(queued["status_url"], headers=headers)
    assert job.status_code == 200, job.text
    data: dict[str, Any] = job.json()["data"]
    assert data["status"] in ("stored", "duplicate", "quarantined")
    assert data["finished_at"]

    def report(report_id: str) -> dict[str, Any]:
        found: dict[str, Any] = client.get(f"/v1/reports/{report_id}", headers=headers).json()["data"]
        return found

    data["stored"] = [report(i) for i in data["report_ids"]]
    data["duplicates"] = [{"id": i} for i in data["duplicate_report_ids"]]
    return data


@pytest.fixture
def monitored(client: TestClient, account: ApiAccount) -> ApiAccount:
    assert (
        client.post("/v1/domains", headers=account.headers(), json={"domain": "example.com"}).status_code
        == 201
    )
    return account


def test_upload_stores_the_report_once(client: TestClient, monitored: ApiAccount) -> None:
    raw = report_mail("anyone@example.net", aggregate_xml("example.com", ROWS))
    first = upload(client, monitored, raw)
    assert [r["message_count"] for r in first["stored"]] == [17]
    assert first["stored"][0]["pass_rate"] == round(15 / 17, 4)
    again = upload(client, monitored, raw)
    assert again["stored"] == []
    assert [r["id"] for r in again["duplicates"]] == [first["stored"][0]["id"]]
    bare = upload(client, monitored, aggregate_xml("example.com", ROWS))  # the bare XML is the same report
    assert [r["id"] for r in bare["duplicates"]] == [first["stored"][0]["id"]]


def test_upload_validation(client: TestClient, monitored: ApiAccount) -> None:
    empty = client.post("/v1/reports", headers=monitored.headers(), content=b"")
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "validation_error"
    big = client.post("/v1/reports", headers=monitored.headers(), content=b"<" + b"x" * (10 * 1024 * 1024))
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    junk = upload(client, monitored, b"<feedback><report_metadata>")
    assert [q["reason"] for q in junk["quarantined"]] == ["xml_truncated"]


def test_list_and_filter_reports(client: TestClient, monitored: ApiAccount) -> None:
    upload(client, monitored, aggregate_xml("example.com", ROWS, report_id="a", org="google.com"))
    upload(
        client,
        monitored,
        aggregate_xml(
            "example.com", ROWS, report_id="b", org="Yahoo! Inc.", begin=1_767_312_000, end=1_767_398_399
        ),
    )

    def ids(query: str) -> list[str]:
        response = client.get(f"/v1/reports{query}", headers=monitored.headers())
        assert response.status_code == 200, response.text
        return [r["external_report_id"] for r in response.json()["data"]]

    assert ids("") == ["b", "a"]  # newest first
    assert ids("?sender_org=yahoo") == ["b"]
    assert ids("?domain=xample") == ["b", "a"]
    assert ids("?domain_id=example.com&start_date=2026-01-02") == ["b"]
    assert ids("?end_date=2026-01-01") == ["a"]
    assert ids("?kind=tlsrpt") == []
    first = client.get("/v1/reports?limit=1", headers=monitored.headers()).json()
    assert first["meta"]["next_cursor"]
    second = client.get(
        f"/v1/reports?limit=1&cursor={first['meta']['next_cursor']}", headers=monitored.headers()
    )
    assert [r["external_report_id"] for r in second.json()["data"]] == ["a"]


@pytest.mark.parametrize("query", ["?start_date=2026-13-01", "?end_date=yesterday", "?start_date=2026-1-1"])
def test_bad_dates_are_invalid_date(client: TestClient, monitored: ApiAccount, query: str) -> None:
    response = client.get(f"/v1/reports{query}", headers=monitored.headers())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_date"


def test_report_detail_pages_through_records_and_links_the_raw_mail(
    client: TestClient, monitored: ApiAccount
) -> None:
    report_id = upload(client, monitored, aggregate_xml("example.com", ROWS))["stored"][0]["id"]
    page = client.get(f"/v1/reports/{report_id}?limit=2", headers=monitored.headers()).json()["data"]
    assert [r["source_ip"] for r in page["records"]] == ["192.0.2.1", "192.0.2.2"]
    assert page["records"][1]["dkim_aligned"] == "fail"
    assert page["records"][0]["dkim"][0]["selector"] == "s1"
    # Enriched on read: documentation addresses are private, so no reverse lookup and no network data.
    assert {"hostname", "country", "org", "known_sender"} <= set(page["records"][0])
    rest = client.get(
        f"/v1/reports/{report_id}?limit=2&cursor={page['records_next_cursor']}", headers=monitored.headers()
    ).json()["data"]
    assert [r["disposition"] for r in rest["records"]] == ["reject"]
    assert rest["records_next_cursor"] is None
    raw = client.get(f"/v1/reports/{report_id}/raw", headers=monitored.headers()).json()["data"]
    assert "inbound/api/" in raw["raw_url"]
    assert raw["expires_in"] == 300


def test_statistics_fill_every_day_of_the_range(client: TestClient, monitored: ApiAccount) -> None:
    upload(client, monitored, aggregate_xml("example.com", ROWS))
    stats = client.get(
        "/v1/domains/example.com/stats?start_date=2025-12-31&end_date=2026-01-02", headers=monitored.headers()
    ).json()["data"]
    assert [d["date"] for d in stats["days"]] == ["2025-12-31", "2026-01-01", "2026-01-02"]
    assert [d["messages"] for d in stats["days"]] == [0, 17, 0]
    assert stats["totals"]["dmarc_pass"] == 15
    assert stats["totals"]["disposition_reject"] == 2
    assert stats["days"][1]["pass_rate"] == round(15 / 17, 4)
    assert stats["days"][0]["pass_rate"] is None
    default = client.get("/v1/domains/example.com/stats", headers=monitored.headers()).json()["data"]
    assert len(default["days"]) == 30
    reversed_range = client.get(
        "/v1/domains/example.com/stats?start_date=2026-02-01&end_date=2026-01-01", headers=monitored.headers()
    )
    assert reversed_range.json()["error"]["code"] == "invalid_date"


def test_sources_by_volume_with_enrichment(client: TestClient, monitored: ApiAccount) -> None:
    upload(client, monitored, aggregate_xml("example.com", ROWS))
    response = client.get(
        "/v1/domains/example.com/sources?date=2026-01-01&limit=2", headers=monitored.headers()
    )
    body = response.json()
    assert [s["ip"] for s in body["data"]] == ["192.0.2.1", "192.0.2.2"]
    assert body["meta"]["total_count"] == 3
    first = body["data"][0]
    assert (first["messages"], first["pass_rate"]) == (10, 1.0)
    assert first["hostname_status"] == "private"
    assert {"hostname", "org", "country", "known_sender", "base_domain"} <= set(first)
    rest = client.get(
        f"/v1/domains/example.com/sources?date=2026-01-01&limit=2&cursor={body['meta']['next_cursor']}",
        headers=monitored.headers(),
    ).json()
    assert [s["ip"] for s in rest["data"]] == ["198.51.100.9"]
    assert (
        client.get("/v1/domains/example.com/sources?range=1y", headers=monitored.headers()).status_code == 400
    )


def test_source_pages_read_the_ranking_their_first_page_made(
    client: TestClient, monitored: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarcwatch.store import reports as report_store

    upload(client, monitored, aggregate_xml("example.com", ROWS))
    reads: list[int] = []
    original = report_store.sources_for_days

    def counted(*args: Any) -> Any:
        reads.append(1)
        return original(*args)

    monkeypatch.setattr(report_store, "sources_for_days", counted)
    path = "/v1/domains/example.com/sources?date=2026-01-01&limit=1"
    first = client.get(path, headers=monitored.headers()).json()
    # A new source arrives between the pages: the listing goes on in the ranking it started with.
    upload(client, monitored, aggregate_xml("example.com", [Row("192.0.2.99", 500)], report_id="late"))
    second = client.get(f"{path}&cursor={first['meta']['next_cursor']}", headers=monitored.headers()).json()
    assert [s["ip"] for s in first["data"] + second["data"]] == ["192.0.2.1", "192.0.2.2"]
    assert second["meta"]["total_count"] == 3
    assert len(reads) == 1  # the second page did not read the source items again
    tampered = client.get(f"{path}&cursor={first['meta']['next_cursor']}x", headers=monitored.headers())
    assert tampered.status_code == 400


def test_quarantine_and_reprocess_after_adding_the_domain(client: TestClient, account: ApiAccount) -> None:
    raw = report_mail("x@example.net", aggregate_xml("late.example", ROWS))
    result = upload(client, account, raw)
    assert [q["reason"] for q in result["quarantined"]] == ["domain_not_monitored"]
    listed = client.get("/v1/quarantine", headers=account.headers()).json()["data"]
    assert [q["reason"] for q in listed] == ["domain_not_monitored"]
    quarantine_id = listed[0]["id"]

    def reprocess() -> dict[str, Any]:
        queued = client.post(f"/v1/quarantine/{quarantine_id}/reprocess", headers=account.headers())
        assert queued.status_code == 202, queued.text
        job = queued.json()["data"]["job"]
        assert (job["kind"], job["status"], job["quarantine_id"]) == ("reprocess", "pending", quarantine_id)
        assert drain_ingest_queue() == 1
        finished: dict[str, Any] = client.get(job["status_url"], headers=account.headers()).json()["data"]
        return finished

    still = reprocess()
    assert still["status"] == "quarantined"
    entry = client.get("/v1/quarantine", headers=account.headers()).json()["data"][0]
    assert (entry["resolved"], entry["reprocessed_at"] is not None) == (False, True)
    client.post("/v1/domains", headers=account.headers(), json={"domain": "late.example"})
    done = reprocess()
    assert done["status"] == "stored"
    stored = client.get(f"/v1/reports/{done['report_ids'][0]}", headers=account.headers()).json()["data"]
    assert stored["domain"] == "late.example"
    assert client.get("/v1/quarantine", headers=account.headers()).json()["data"][0]["resolved"] is True


def test_upload_status_of_another_tenant_is_not_found(
    client: TestClient, monitored: ApiAccount, other_account: ApiAccount
) -> None:
    queued = client.post(
        "/v1/reports", headers=monitored.headers(), content=aggregate_xml("example.com", ROWS)
    )
    path = queued.json()["data"]["status_url"]
    for headers in (other_account.headers(), monitored.headers("test")):
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/v1/uploads/upl_AAAAAAAAAAAAAAAAAAAA", headers=monitored.headers()).status_code == 404
    assert client.get("/v1/uploads/nonsense", headers=monitored.headers()).status_code == 404
    assert client.get(path).status_code == 401


def test_other_tenants_get_404_for_reports_statistics_and_quarantine(
    client: TestClient, monitored: ApiAccount, other_account: ApiAccount
) -> None:
    report_id = upload(client, monitored, aggregate_xml("example.com", ROWS))["stored"][0]["id"]
    quarantined = upload(client, monitored, aggregate_xml("nope.example", ROWS))["quarantined"][0]["id"]
    for headers in (other_account.headers(), monitored.headers("test")):
        for path in (
            f"/v1/reports/{report_id}",
            f"/v1/reports/{report_id}/raw",
            "/v1/domains/example.com/stats",
            "/v1/domains/example.com/sources",
        ):
            response = client.get(path, headers=headers)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "not_found"
        assert client.post(f"/v1/quarantine/{quarantined}/reprocess", headers=headers).status_code == 404
        assert client.get("/v1/reports", headers=headers).json()["data"] == []
        assert client.get("/v1/quarantine", headers=headers).json()["data"] == []


def test_smtp_tls_reports_are_stored_as_their_own_kind(client: TestClient, account: ApiAccount) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domain": "company-y.example"})
    tls_report = (
        b'{"organization-name": "Company-X", "date-range": {"start-datetime": "2016-04-01T00:00:00Z",'
        b' "end-datetime": "2016-04-01T23:59:59Z"}, "contact-info": "sts-reporting@company-x.example",'
        b' "report-id": "5065427c-23d3", "policies": [{"policy": {"policy-type": "sts",'
        b' "policy-string": ["version: STSv1", "mode: testing"], "policy-domain": "company-y.example",'
        b' "mx-host": ["*.mail.company-y.example"]}, "summary": {"total-successful-session-count": 5326,'
        b' "total-failure-session-count": 303}, "failure-details": [{"result-type": "certificate-expired",'
        b' "sending-mta-ip": "2001:db8:abcd:0012::1", "failed-session-count": 100}]}]}'
    )
    stored = upload(client, account, tls_report)["stored"]
    assert [(r["kind"], r["message_count"]) for r in stored] == [("tlsrpt", 5629)]
    assert stored[0]["summary"] == {
        "total_successful_session_count": 5326,
        "total_failure_session_count": 303,
    }
    listed = client.get("/v1/reports?kind=tlsrpt", headers=account.headers()).json()["data"]
    assert [r["id"] for r in listed] == [stored[0]["id"]]
    detail = client.get(f"/v1/reports/{stored[0]['id']}", headers=account.headers()).json()["data"]
    assert detail["records"][0]["policy"]["policy-domain"] == "company-y.example"


def test_reports_filter_by_when_they_arrived(client: TestClient, monitored: ApiAccount) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    headers = monitored.headers()
    early = upload(client, monitored, aggregate_xml("example.com", ROWS, report_id="early"))["stored"][0]
    first = early["id"]
    # Arrival times are kept to the second: the second report arrives in a later one.
    boundary = datetime.fromisoformat(early["received_at"].replace("Z", "+00:00")) + timedelta(seconds=1)
    time.sleep(max(0.0, (boundary - datetime.now(UTC)).total_seconds()))
    between = boundary.isoformat()
    second = upload(client, monitored, aggregate_xml("example.com", ROWS, report_id="late"))["report_ids"][0]

    def ids(**params: str) -> list[str]:
        response = client.get("/v1/reports", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert set(ids()) == {first, second}
    assert ids(received_after=between) == [second]
    assert ids(received_before=between) == [first]
    assert ids(received_after=between, received_before=between) == []
    # Paging keeps the bound; a cursor of another bound is refused.
    page = client.get("/v1/reports", headers=headers, params={"limit": 1, "received_before": between}).json()
    assert [r["id"] for r in page["data"]] == [first]
    if page["meta"]["next_cursor"]:  # the index may hold more: the next page is read with the same bound
        rest = client.get(
            "/v1/reports",
            headers=headers,
            params={"limit": 1, "received_before": between, "cursor": page["meta"]["next_cursor"]},
        ).json()
        assert rest["data"] == []
    all_page = client.get("/v1/reports", headers=headers, params={"limit": 1}).json()
    cursor = all_page["meta"]["next_cursor"]
    assert cursor
    refused = client.get("/v1/reports", headers=headers, params={"cursor": cursor, "received_after": between})
    assert refused.status_code == 400
    for bad in ("yesterday", "2026-11-30T10:00:00"):
        invalid = client.get("/v1/reports", headers=headers, params={"received_after": bad})
        assert invalid.status_code == 400
        assert invalid.json()["error"]["code"] == "validation_error"
