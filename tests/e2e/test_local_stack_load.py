"""The local stack under real load: a 500-domain bulk add and a 100,000-record upload over HTTP.

Issue 14: the bulk add must finish within the HTTP client's default 5 s timeout (not a longer timeout),
and a gzipped 100,000-record report (about 40 MB of XML) uploads in one request, answers 202, is listed
with every record, and the API keeps answering meanwhile. The figures themselves are printed by
bench/local_stack.py; these tests check the behaviour.
"""

from __future__ import annotations

import gzip
import time

import httpx
import pytest

from tests.e2e.conftest import LocalStack
from tests.e2e.test_local_stack import create_account
from tests.support.reports import large_aggregate_xml

pytestmark = pytest.mark.e2e

RECORDS = 100_000


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_five_hundred_domains_in_one_call_within_the_default_client_timeout(local_stack: LocalStack) -> None:
    enterprise = create_account(local_stack, "bulk@example.com", "enterprise")  # pro allows 250
    names = [f"bulk{i:03}.example" for i in range(500)]
    # httpx's default timeout is 5 s: the call must finish within it.
    with httpx.Client(base_url=local_stack.api, headers=bearer(enterprise["live_key"])) as api:
        response = api.post("/domains", json={"domains": names})
        assert response.status_code == 201, response.text
        assert response.json()["data"]["added"] == 500
        assert api.get("/account").json()["data"]["usage"]["domains"] == 500


def test_a_hundred_thousand_record_upload_is_queued_listed_whole_and_the_api_keeps_answering(
    local_stack: LocalStack,
) -> None:
    body = gzip.compress(large_aggregate_xml("big.example", RECORDS), compresslevel=6)
    # Enterprise: 1,000 requests a minute, room to page through 500 pages of records.
    enterprise = create_account(local_stack, "big@example.com", "enterprise")
    with httpx.Client(base_url=local_stack.api, headers=bearer(enterprise["live_key"]), timeout=60) as api:
        assert api.post("/domains", json={"domain": "big.example"}).status_code == 201
        queued = api.post("/reports", content=body)
        assert queued.status_code == 202, queued.text
        status_url = queued.json()["data"]["status_url"].removeprefix("/v1")
        deadline = time.monotonic() + 600
        job = queued.json()["data"]
        slow: list[float] = []
        while job["status"] == "pending" and time.monotonic() < deadline:
            started = time.monotonic()
            assert api.get("/domains").status_code == 200
            slow.append(time.monotonic() - started)
            time.sleep(0.5)
            job = api.get(status_url).json()["data"]
        assert job["status"] == "stored", job
        assert slow, "the upload finished before the API was asked anything"
        [report_id] = job["report_ids"]
        report = api.get(f"/reports/{report_id}").json()["data"]
        assert report["record_count"] == RECORDS
        seen = 0
        cursor: str | None = None
        while True:
            response = api.get(
                f"/reports/{report_id}", params={"limit": 200, **({"cursor": cursor} if cursor else {})}
            )
            assert response.status_code == 200, response.text
            page = response.json()["data"]
            seen += len(page["records"])
            cursor = page["records_next_cursor"]
            if not cursor:
                break
        assert seen == RECORDS
