"""The export worker: idempotent retries, takeover of a dead run, deletion and the time limit mid-run, the
row cap, progress, the export.completed event, and every dataset read through its list service."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.export_model import EXPORT_RETENTION, RUNNING_STALE
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.services import export_datasets, export_runs
from dmarcwatch.store import aws, db, export_files
from dmarcwatch.store import events as event_store
from dmarcwatch.store import exports as export_store
from tests.integration.conftest import ApiAccount
from tests.support.exports import csv_rows, download, export_and_run, queued_messages, run_messages


def add(client: TestClient, account: ApiAccount, *names: str) -> None:
    response = client.post("/v1/domains", headers=account.headers(), json={"domains": list(names)})
    assert response.status_code == 201, response.text


def tenant_of(account: ApiAccount) -> Tenant:
    return Tenant(account_id=account.id, environment=Environment.LIVE)


def objects(account: ApiAccount) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=export_files._bucket(), Prefix=f"exports/{account.id}/")
    return [o["Key"] for o in listing.get("Contents", [])]


def unfinished_uploads() -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = (
        aws.client("s3").list_multipart_uploads(Bucket=export_files._bucket()).get("Uploads", [])
    )
    return uploads


def queue_one(client: TestClient, account: ApiAccount, body: dict[str, Any] | None = None) -> tuple[str, Any]:
    created = client.post("/v1/exports", headers=account.headers(), json=body or {})
    assert created.status_code == 202, created.text
    (message,) = queued_messages()
    return created.json()["data"]["id"], message


def get(client: TestClient, account: ApiAccount, export_id: str) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/v1/exports/{export_id}", headers=account.headers()).json()["data"]
    return data


def test_a_message_delivered_again_makes_no_second_file_nor_event(
    client: TestClient, account: ApiAccount
) -> None:
    add(client, account, "once.example")
    export_id, message = queue_one(client, account)
    assert not run_messages([message])
    first = get(client, account, export_id)
    assert first["status"] == "completed"
    assert not run_messages([message])  # the same message again: skipped, acknowledged
    assert get(client, account, export_id)["completed_at"] == first["completed_at"]
    assert objects(account) == [f"exports/{account.id}/live/{export_id}.csv"]
    events = [
        e for e in event_store.recent_events(account.id, "live") if e.payload.type == "export.completed"
    ]
    assert len(events) == 1
    payload = events[0].payload.model_dump()
    assert payload == {
        "type": "export.completed",
        "export_id": export_id,
        "export_type": "csv",
        "dataset": "domains",
        "row_count": 1,
        "file_size": first["file_size"],
        "truncated": False,
    }


def test_a_run_whose_worker_died_is_taken_over_and_its_upload_aborted(
    client: TestClient, account: ApiAccount
) -> None:
    add(client, account, "taken.example")
    export_id, message = queue_one(client, account)
    tenant = tenant_of(account)
    dead = utcnow() - RUNNING_STALE - timedelta(minutes=1)
    claimed = export_store.claim(tenant, export_id, "dead-attempt", dead, dead - RUNNING_STALE)
    assert claimed is not None
    orphan = export_files.MultipartFile(claimed.file_key, "text/csv")
    orphan.write(b"half a file")
    assert export_store.heartbeat(
        tenant, export_id, "dead-attempt", dead, rows=1, progress=10, upload_id=orphan.upload_id
    )
    assert not run_messages([message])
    export = get(client, account, export_id)
    assert export["status"] == "completed"
    assert not unfinished_uploads()
    assert len(objects(account)) == 1
    assert csv_rows(download(export["file_url"]))[0]["domain"] == "taken.example"


def test_a_run_alive_elsewhere_is_left_alone(client: TestClient, account: ApiAccount) -> None:
    export_id, message = queue_one(client, account)
    now = utcnow()
    assert export_store.claim(tenant_of(account), export_id, "alive", now, now - RUNNING_STALE)
    assert not run_messages([message])
    assert get(client, account, export_id)["status"] == "running"
    assert not objects(account)


def test_deleting_a_running_export_stops_it_without_a_file(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(client, account, *(f"d{i}.example" for i in range(5)))
    export_id, message = queue_one(client, account)
    monkeypatch.setattr(export_datasets, "PAGE", 1)
    monkeypatch.setattr(export_runs, "HEARTBEAT_SECONDS", 0.0)
    real_read = export_datasets.read

    def read_and_delete(tenant: Tenant, parameters: Any) -> Any:
        for number, batch in enumerate(real_read(tenant, parameters)):
            if number == 2:  # the owner deletes it half way
                assert client.delete(f"/v1/exports/{export_id}", headers=account.headers()).status_code == 200
            yield batch

    monkeypatch.setattr(export_datasets, "read", read_and_delete)
    assert not run_messages([message])
    assert client.get(f"/v1/exports/{export_id}", headers=account.headers()).status_code == 404
    assert not objects(account)
    assert not unfinished_uploads()


def test_progress_is_written_while_running(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(client, account, *(f"p{i}.example" for i in range(4)))
    export_id, message = queue_one(client, account)
    monkeypatch.setattr(export_datasets, "PAGE", 1)
    monkeypatch.setattr(export_runs, "HEARTBEAT_SECONDS", 0.0)
    seen: list[tuple[str, int, int]] = []
    real_read = export_datasets.read

    def read_and_watch(tenant: Tenant, parameters: Any) -> Any:
        for batch in real_read(tenant, parameters):
            now = get(client, account, export_id)
            seen.append((now["status"], now["row_count"], now["progress"]))
            yield batch

    monkeypatch.setattr(export_datasets, "read", read_and_watch)
    assert not run_messages([message])
    assert seen == [("running", 0, 0), ("running", 1, 25), ("running", 2, 50), ("running", 3, 75)]
    assert get(client, account, export_id)["progress"] == 100


def test_out_of_time_fails_the_export_with_the_reason(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "slow.example")
    export_id, message = queue_one(client, account)
    assert not run_messages([message], timeout_ms=10_000)  # less than the run's reserve
    export = get(client, account, export_id)
    assert export["status"] == "failed"
    assert "time limit" in export["error"]
    assert export["file_url"] is None
    assert not objects(account)
    assert not unfinished_uploads()
    assert export_store.active_count(tenant_of(account)) == 0


def test_a_domain_deleted_after_queueing_fails_the_export(client: TestClient, account: ApiAccount) -> None:
    add(client, account, "brief.example")
    export_id, message = queue_one(
        client, account, {"dataset": "stats", "filters": {"domain_id": "brief.example"}}
    )
    # Deleted for good (a plain DELETE keeps a removed domain's data readable for 30 days).
    assert client.delete("/v1/domains/brief.example?purge=true", headers=account.headers()).status_code == 200
    assert not run_messages([message])
    export = get(client, account, export_id)
    assert (export["status"], export["error"]) == ("failed", "domain not found")


def test_the_row_cap_completes_the_export_truncated(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(client, account, *(f"r{i}.example" for i in range(5)))
    monkeypatch.setattr(export_runs, "MAX_EXPORT_ROWS", 3)
    export = export_and_run(client, account.headers(), {})
    assert (export["status"], export["row_count"], export["truncated"]) == ("completed", 3, True)
    assert [r["domain"] for r in csv_rows(download(export["file_url"]))] == [
        "r0.example",
        "r1.example",
        "r2.example",
    ]
    exact = export_and_run(client, account.headers(), {"filters": {"search": "r1"}})
    assert (exact["row_count"], exact["truncated"]) == (1, False)


def test_finished_exports_expire_with_their_files(client: TestClient, account: ApiAccount) -> None:
    export = export_and_run(client, account.headers(), {})
    item = db.table().get_item(Key=db.key(f"TENANT#{account.id}#live#EXPORTS", f"EXPORT#{export['id']}"))[
        "Item"
    ]
    completed = db.parse_ts(item["completed_at"])
    assert completed is not None
    assert int(item["expires_at_epoch"]) == int((completed + EXPORT_RETENTION).timestamp())
    queued = client.post("/v1/exports", headers=account.headers(), json={}).json()["data"]
    item = db.table().get_item(Key=db.key(f"TENANT#{account.id}#live#EXPORTS", f"EXPORT#{queued['id']}"))[
        "Item"
    ]
    assert "expires_at_epoch" not in item  # a queued export holds its slot until it finishes


def test_formula_cells_are_neutralised_in_the_file(client: TestClient, account: ApiAccount) -> None:
    tenant = tenant_of(account)
    add(client, account, "formula.example")
    domain = client.get("/v1/domains/formula.example", headers=account.headers()).json()["data"]
    record_change(tenant, domain, "txt", None, '=HYPERLINK("http://evil.example")')
    export = export_and_run(client, account.headers(), {"dataset": "changes"})
    (row,) = csv_rows(download(export["file_url"]))
    assert row["new_value"] == '\'=HYPERLINK("http://evil.example")'
    as_json = export_and_run(client, account.headers(), {"dataset": "changes", "export_type": "json"})
    assert json.loads(download(as_json["file_url"]))[0]["new_value"].startswith("=HYPERLINK")


def record_change(
    tenant: Tenant, domain: dict[str, Any], field: str, old: str | None, new: str | None, at: str = ""
) -> None:
    """A change as the scanner records it (store.scans.record_scan), without a DNS server."""
    from dmarcwatch.ids import IdPrefix, new_id
    from dmarcwatch.store import domains as domain_store
    from dmarcwatch.store import scans as scan_store

    stamp = at or utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    found = scan_store.latest(tenant, domain["id"])
    model = domain_store.get_by_id(tenant, domain["id"])  # as stored: record_scan is guarded by its rev
    assert model is not None
    result = json.dumps({"domain": domain["domain"], "scanned_at": stamp})
    change = scan_store.ChangeRow(new_id(IdPrefix.CHANGE), field, old, new, stamp)
    assert scan_store.record_scan(
        tenant,
        model,
        result_json=result,
        summary={"spf_status": "pass"},
        previous={},
        expected_count=found.scan_count if found else 0,
        changes=[change],
        events=[],
        scanned_at=utcnow(),
    )


def test_changes_and_diff_cover_the_window(client: TestClient, account: ApiAccount) -> None:
    tenant = tenant_of(account)
    add(client, account, "moves.example")
    domain = client.get("/v1/domains/moves.example", headers=account.headers()).json()["data"]
    for at, field, old, new in (
        ("2026-01-01T00:00:00Z", "dmarc_policy_p", None, "none"),
        ("2026-01-10T00:00:00Z", "dmarc_policy_p", "none", "quarantine"),
        ("2026-01-11T00:00:00Z", "mx", "mx1", "mx2"),
        ("2026-01-12T00:00:00Z", "mx", "mx2", "mx1"),
        ("2026-01-20T00:00:00Z", "dmarc_policy_p", "quarantine", "reject"),
        ("2026-02-01T00:00:00Z", "dmarc_policy_p", "reject", "none"),
    ):
        record_change(tenant, domain, field, old, new, at)
    window = {"since": "2026-01-05T00:00:00Z", "until": "2026-01-31T00:00:00Z"}
    changes = export_and_run(client, account.headers(), {"dataset": "changes", **window})
    rows = csv_rows(download(changes["file_url"]))
    assert [(r["detected_at"], r["field_name"]) for r in rows] == [
        ("2026-01-20T00:00:00Z", "dmarc_policy_p"),
        ("2026-01-12T00:00:00Z", "mx"),
        ("2026-01-11T00:00:00Z", "mx"),
        ("2026-01-10T00:00:00Z", "dmarc_policy_p"),
    ]
    api = client.get(f"/v1/domains/{domain['id']}/changes", headers=account.headers()).json()["data"]
    assert {r["id"] for r in rows} <= {c["id"] for c in api}
    diff = export_and_run(client, account.headers(), {"export_type": "diff", **window})
    assert csv_rows(download(diff["file_url"])) == [
        {
            "domain_id": domain["id"],
            "domain_name": "moves.example",
            "field_name": "dmarc_policy_p",
            "old_value": "none",
            "new_value": "reject",
            "change_count": "2",
            "first_changed_at": "2026-01-10T00:00:00Z",
            "last_changed_at": "2026-01-20T00:00:00Z",
        }
    ]  # mx went back to where it was: no net change
