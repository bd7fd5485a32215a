"""The typed client against the real app in process (FastAPI's TestClient is the client's httpx session)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from dmarcwatch.client import ApiRequestError, DmarcwatchClient
from tests.integration.conftest import ApiAccount
from tests.support.exports import download, run_export_queue

BASE = "http://testserver/v1"


def s3_files() -> httpx.Client:
    """Presigned links answered from in-process moto (which serves botocore, not HTTP)."""
    return httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=download(str(r.url))))
    )


@pytest.fixture
def api(client: TestClient, account: ApiAccount) -> Iterator[DmarcwatchClient]:
    # Between polls of an export, the export worker runs (what the local stack's worker process does).
    with DmarcwatchClient(
        BASE, account.live_key, http=client, files=s3_files(), sleep=lambda _: run_export_queue()
    ) as typed:
        yield typed


def test_domains_folders_tags_and_filters(api: DmarcwatchClient) -> None:
    added = api.add_domains(["b.example", "a.example", "c.example", "c.example", "not a name"])
    assert (added.submitted, added.added, added.duplicates, added.invalid) == (5, 3, 1, 1)
    assert added.invalid_domains[0].domain == "not a name"
    single = api.add_domain("d.example")
    assert single.domain == "d.example"

    folder = api.create_folder("Production")
    updated = api.bulk_update(
        ["a.example", "b.example", "nope.example"], folder_id=folder.id, add_tags=["prod"]
    )
    assert (updated.updated, updated.not_found, updated.not_found_ids) == (2, 1, ["nope.example"])
    api.update_domain("a.example", is_favorite=True, tags=["prod", "eu"], notes="primary")

    assert {d.domain for d in api.iter_domains(tag=["prod"])} == {"a.example", "b.example"}
    assert [d.domain for d in api.iter_domains(tag=["prod", "eu"])] == ["a.example"]
    assert [d.domain for d in api.iter_domains(is_favorite=True)] == ["a.example"]
    assert {d.domain for d in api.iter_domains(folder_id="none")} == {"c.example", "d.example"}
    assert [d.domain for d in api.iter_domains(search="c.ex")] == ["c.example"]
    assert {(t.tag, t.count) for t in api.list_tags()} == {("prod", 2), ("eu", 1)}
    assert [(f.name, f.domain_count) for f in api.list_folders()] == [("Production", 2)]
    assert api.get_folder(folder.id).name == "Production"
    assert api.rename_folder(folder.id, "Prod").name == "Prod"

    detail = api.get_domain("a.example")
    assert (detail.notes, detail.tags, detail.is_favorite, detail.folder_id) == (
        "primary",
        ["eu", "prod"],
        True,
        folder.id,
    )
    assert detail.scan_count == 0
    assert api.dashboard_summary().total_domains == 4
    assert api.dashboard_summary(tag="eu").total_domains == 1

    assert api.delete_folder(folder.id).domains_unfiled == 2
    assert api.update_domain("a.example", notes=None).domain == "a.example"
    assert api.get_domain("a.example").notes is None
    removed = api.delete_domain("d.example")
    assert (removed.status, removed.restorable_until is not None) == ("removed", True)
    assert [d.domain for d in api.iter_domains(status="removed")] == ["d.example"]


def test_pages_follow_cursors_to_the_end(api: DmarcwatchClient) -> None:
    names = [f"n{i:02d}.example" for i in range(7)]
    api.add_domains(names)
    first = api.list_domains(limit=3)
    assert len(first.data) == 3
    assert first.meta.total_count == 7
    assert first.meta.next_cursor
    second = api.list_domains(limit=3, cursor=first.meta.next_cursor)
    assert {d.domain for d in first.data}.isdisjoint(d.domain for d in second.data)
    paged = [item["domain"] for item in api.paginate("/domains", {"limit": 2})]
    assert sorted(paged) == names
    assert len(paged) == len(set(paged))
    assert [d.domain for d in api.iter_domains()] == paged


def test_errors_carry_the_api_envelope(api: DmarcwatchClient, client: TestClient) -> None:
    with pytest.raises(ApiRequestError) as raised:
        api.get_domain("missing.example")
    assert (raised.value.status_code, raised.value.code) == (404, "not_found")
    assert raised.value.request_id
    with pytest.raises(ApiRequestError) as invalid:
        api.update_domain("missing.example", tags=["x" * 41])
    assert (invalid.value.status_code, invalid.value.code) == (400, "validation_error")
    assert invalid.value.details
    with pytest.raises(ApiRequestError) as unauthorised:
        DmarcwatchClient(BASE, "dmw_live_wrong", http=client).list_tags()
    assert unauthorised.value.status_code == 401


def test_export_wait_and_download_equal_the_listing(api: DmarcwatchClient, tmp_path: object) -> None:
    api.add_domains(["x.example", "y.example", "z.example"])
    export = api.create_export("csv", "domains", columns=["id", "domain"])
    assert export.status == "queued"
    assert [e.id for e in api.iter_exports()] == [export.id]
    done = api.wait_for_export(export.id, interval=0.01)
    assert done.status == "completed"
    sink = io.BytesIO()
    assert api.download_export(done.id, sink) == done.file_size
    rows = list(csv.DictReader(io.StringIO(sink.getvalue().decode())))
    assert [(r["id"], r["domain"]) for r in rows] == [(d.id, d.domain) for d in api.iter_domains()]
    assert api.delete_export(done.id).deleted
    with pytest.raises(ApiRequestError):
        api.get_export(done.id)


def test_keys_and_reports(api: DmarcwatchClient) -> None:
    keys = api.list_keys()
    assert {k.environment for k in keys} == {"live"}
    assert all(k.is_active for k in keys)
    assert api.list_reports().data == []
    assert list(api.iter_reports(domain="a.example")) == []
    assert api.request("GET", "/account")["plan"]["name"] == "pro"
