"""The typed client against httpx.MockTransport: paging, Retry-After, 5xx retries, the error envelope."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from dmarcwatch.client import ApiRequestError, DmarcwatchClient, RetryPolicy, retry_after_seconds
from dmarcwatch.client.errors import ExportFailedError

BASE = "https://api.example.test/v1"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def domain(name: str, **fields: object) -> dict[str, object]:
    return {
        "id": f"dom_{name.replace('.', '')[:20].ljust(20, 'x')}",
        "domain": name,
        "unicode_domain": name,
        "status": "active",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": None,
        "verification": {"verified": False, "verified_at": None, "record_name": "r", "record_value": "v"},
        "email_gateway": None,
        "dmarc_status": None,
        "spf_status": None,
        "last_scan_at": None,
        "next_scan_at": None,
        "dmarc_policy_p": None,
        "spf": None,
        "scanned_at": None,
        "added_at": "2025-01-01T00:00:00Z",
        "folder_id": None,
        "is_favorite": False,
        "tags": [],
        "custom_label": None,
        **fields,
    }


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {
        "error": {
            "code": code,
            "message": f"{code} happened",
            "request_id": "req-1",
            "details": [{"field": "query.limit", "issue": "too_big", "message": "at most 1000"}],
        }
    }
    return httpx.Response(status, json=body, headers=headers)


class Recorder:
    """A client over a MockTransport whose requests and sleeps are kept."""

    def __init__(self, handler: Handler, policy: RetryPolicy | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        self.client = DmarcwatchClient(
            BASE,
            "dmw_test_secret",
            http=httpx.Client(transport=httpx.MockTransport(record)),
            retry=policy or RetryPolicy(jitter=0.0),
            sleep=self.sleeps.append,
            now=lambda: NOW,
        )


def test_iter_domains_follows_next_cursor_with_the_same_filters() -> None:
    pages = {
        None: ([domain("a.example"), domain("b.example")], "c1"),
        "c1": ([domain("c.example")], "c2"),
        "c2": ([], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        items, cursor = pages[request.url.params.get("cursor")]
        return httpx.Response(200, json={"data": items, "meta": {"request_id": "r", "next_cursor": cursor}})

    recorder = Recorder(handler)
    found = recorder.client.iter_domains(tag=["prod", "eu"], is_favorite=True, folder_id="none")
    assert [d.domain for d in found] == ["a.example", "b.example", "c.example"]
    assert [r.url.params.get("cursor") for r in recorder.requests] == [None, "c1", "c2"]
    for request in recorder.requests:
        assert request.url.path == "/v1/domains"
        assert request.url.params.get_list("tag") == ["prod", "eu"]
        assert request.url.params["is_favorite"] == "true"
        assert request.url.params["folder_id"] == "none"
        assert request.url.params["limit"] == "1000"
        assert request.headers["authorization"] == "Bearer dmw_test_secret"


def test_paginate_works_on_any_list_endpoint_and_keeps_a_given_page_size() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        data = [{"n": 1}] if cursor is None else [{"n": 2}]
        return httpx.Response(200, json={"data": data, "meta": {"next_cursor": None if cursor else "x"}})

    recorder = Recorder(handler)
    assert list(recorder.client.paginate("/quarantine", {"limit": 5})) == [{"n": 1}, {"n": 2}]
    assert [r.url.params["limit"] for r in recorder.requests] == ["5", "5"]


def test_a_429_waits_its_retry_after_in_seconds_then_succeeds() -> None:
    answers = iter(
        [error(429, "rate_limit_exceeded", {"Retry-After": "7"}), httpx.Response(200, json={"data": []})]
    )
    recorder = Recorder(lambda request: next(answers))
    assert recorder.client.list_tags() == []
    assert recorder.sleeps == [7.0]
    assert len(recorder.requests) == 2


def test_a_429_waits_until_its_retry_after_http_date() -> None:
    answers = iter(
        [
            error(429, "rate_limit_exceeded", {"Retry-After": "Sat, 01 Mar 2025 12:00:30 GMT"}),
            httpx.Response(200, json={"data": []}),
        ]
    )
    recorder = Recorder(lambda request: next(answers))
    recorder.client.list_folders()
    assert recorder.sleeps == [30.0]


def test_a_retry_after_beyond_the_cap_is_raised_at_once_with_the_wait() -> None:
    recorder = Recorder(lambda request: error(429, "quota_exceeded", {"Retry-After": "3600"}))
    with pytest.raises(ApiRequestError) as raised:
        recorder.client.list_tags()
    assert (raised.value.code, raised.value.retry_after, raised.value.status_code) == (
        "quota_exceeded",
        3600,
        429,
    )
    assert recorder.sleeps == []
    assert len(recorder.requests) == 1


def test_429s_stop_after_max_attempts() -> None:
    recorder = Recorder(
        lambda request: error(429, "rate_limit_exceeded", {"Retry-After": "1"}),
        RetryPolicy(max_attempts=3, jitter=0.0),
    )
    with pytest.raises(ApiRequestError):
        recorder.client.list_tags()
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [1.0, 1.0]


def test_a_429_without_retry_after_backs_off_even_for_a_post() -> None:
    answers = iter([error(429, "rate_limit_exceeded"), httpx.Response(202, json={"data": export_body()})])
    recorder = Recorder(lambda request: next(answers))
    assert recorder.client.create_export("csv", "domains").id == "exp_x"
    assert recorder.sleeps == [0.5]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_exponential_backoff(status: int) -> None:
    answers = iter([error(status, "unavailable")] * 3 + [httpx.Response(200, json={"data": []})])
    recorder = Recorder(lambda request: next(answers))
    assert recorder.client.list_keys() == []
    assert recorder.sleeps == [0.5, 1.0, 2.0]


def test_a_post_that_creates_is_not_repeated_after_a_gateway_error() -> None:
    recorder = Recorder(lambda request: httpx.Response(504, text="Endpoint request timed out"))
    with pytest.raises(ApiRequestError) as raised:
        recorder.client.create_export()
    assert len(recorder.requests) == 1
    # Not the envelope: the status stands in for the code.
    assert (raised.value.code, raised.value.message) == ("http_504", "Endpoint request timed out")


def test_idempotent_posts_are_retried_after_a_gateway_error() -> None:
    bulk = {
        "submitted": 1,
        "updated": 1,
        "unchanged": 0,
        "not_found": 0,
        "failed": 0,
        "not_found_ids": [],
        "failed_ids": [],
    }
    answers = iter([httpx.Response(502), httpx.Response(200, json={"data": bulk})])
    recorder = Recorder(lambda request: next(answers))
    assert recorder.client.bulk_update(["a.example"], add_tags=["prod"]).updated == 1
    assert [json.loads(r.content) for r in recorder.requests] == [
        {"ids": ["a.example"], "add_tags": ["prod"]}
    ] * 2


def test_connection_failures_of_a_get_are_retried() -> None:
    calls = iter([httpx.ConnectError("refused"), None])

    def handler(request: httpx.Request) -> httpx.Response:
        failure = next(calls)
        if failure:
            raise failure
        return httpx.Response(200, json={"data": []})

    recorder = Recorder(handler)
    assert recorder.client.list_tags() == []
    assert recorder.sleeps == [0.5]


def test_other_errors_raise_the_envelope_without_retrying() -> None:
    recorder = Recorder(lambda request: error(404, "not_found"))
    with pytest.raises(ApiRequestError) as raised:
        recorder.client.get_domain("nope.example")
    failure = raised.value
    assert (failure.status_code, failure.code, failure.message, failure.request_id) == (
        404,
        "not_found",
        "not_found happened",
        "req-1",
    )
    assert [(d.field, d.issue) for d in failure.details] == [("query.limit", "too_big")]
    assert "req-1" in str(failure)
    assert len(recorder.requests) == 1
    assert recorder.sleeps == []


def test_update_sends_only_the_fields_given_and_none_clears() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json={"data": domain("a.example")}))
    recorder.client.update_domain("a.example", folder_id=None, tags=["x"])
    (request,) = recorder.requests
    assert (request.method, request.url.path) == ("PATCH", "/v1/domains/a.example")
    assert json.loads(request.content) == {"folder_id": None, "tags": ["x"]}


def export_body(**fields: object) -> dict[str, object]:
    return {
        "id": "exp_x", "export_type": "csv", "dataset": "domains", "status": "queued", "progress": 0,
        "task_id": "t", "file_url": None, "file_url_expires_at": None, "row_count": 0, "file_size": None,
        "truncated": False, "error": None,
        "parameters": {"export_type": "csv", "dataset": "domains", "folder_id": None, "columns": [],
                       "filters": {}, "since": None, "until": None},
        "created_at": "2025-03-01T12:00:00Z", "started_at": None, "completed_at": None, "expires_at": None,
        **fields,
    }  # fmt: skip


def test_wait_for_export_polls_honouring_retry_after_then_downloads_without_the_key() -> None:
    url = "https://exports.s3.example.test/file.csv?X-Amz-Signature=abc"
    answers = iter(
        [
            httpx.Response(200, json={"data": export_body(status="running")}, headers={"Retry-After": "5"}),
            httpx.Response(200, json={"data": export_body(status="running")}),
            httpx.Response(200, json={"data": export_body(status="completed", file_url=url)}),
        ]
    )
    recorder = Recorder(lambda request: next(answers))
    done = recorder.client.wait_for_export("exp_x", interval=1.5)
    assert done.file_url == url
    assert recorder.sleeps == [5.0, 1.5]

    downloads: list[httpx.Request] = []

    def s3(request: httpx.Request) -> httpx.Response:
        downloads.append(request)
        return httpx.Response(200, content=b"id,domain\r\n" * 1000)

    sink = io.BytesIO()
    written = recorder.client.download_export(
        done, sink, download=httpx.Client(transport=httpx.MockTransport(s3))
    )
    assert written == len(sink.getvalue()) == 11_000
    assert str(downloads[0].url) == url
    assert "authorization" not in downloads[0].headers


def test_wait_for_a_failed_export_raises_its_error() -> None:
    recorder = Recorder(
        lambda request: httpx.Response(200, json={"data": export_body(status="failed", error="boom")})
    )
    with pytest.raises(ExportFailedError, match="boom"):
        recorder.client.wait_for_export("exp_x")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sat, 01 Mar 2025 12:01:00 GMT", 60.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # a date in the past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_backoff_grows_to_its_cap_and_jitter_only_shortens_it() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=0.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = RetryPolicy(backoff_base=1.0, backoff_max=5.0, jitter=0.5)
    assert all(0.5 <= jittered.backoff(1) <= 1.0 for _ in range(50))


def test_a_key_is_required() -> None:
    with pytest.raises(ValueError, match="API key"):
        DmarcwatchClient(BASE, "")
