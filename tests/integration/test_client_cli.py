"""`dmarcwatch domains|export` run through cli.main against the app in process (the client's session is
FastAPI's TestClient; the URL and key come from the environment as a user would set them)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dmarcwatch import cli, cli_client
from dmarcwatch.client import DmarcwatchClient
from tests.integration.conftest import ApiAccount
from tests.support.exports import download, run_export_queue

Run = Callable[..., tuple[int, str, str]]


def quiet_worker() -> None:
    """Run the queued exports, their log lines kept out of the CLI's stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        run_export_queue()


@pytest.fixture
def run(
    client: TestClient,
    account: ApiAccount,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    monkeypatch.setenv("DMARCWATCH_API_URL", "http://testserver/v1")
    monkeypatch.setenv("DMARCWATCH_API_KEY", account.live_key)
    files = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=download(str(r.url))))
    )
    made: list[tuple[str, str]] = []

    def in_process(base_url: str, key: str) -> DmarcwatchClient:
        made.append((base_url, key))
        assert (base_url, key) == ("http://testserver/v1", account.live_key)
        # While the CLI waits for an export, the export worker runs.
        return DmarcwatchClient(base_url, key, http=client, files=files, sleep=lambda _: quiet_worker())

    monkeypatch.setattr(cli_client, "DmarcwatchClient", in_process)

    def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_add_from_stdin_in_chunks_then_list_with_filters(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_client, "CHUNK", 2)
    names = "a.example\nb.example  # a comment\n\nc.example\nd.example\nbad name\n"
    code, out, err = run("domains", "add", "--file", "-", "--json", stdin=names)
    assert code == 1  # one name was invalid
    totals = json.loads(out)
    assert (totals["submitted"], totals["added"], totals["invalid"]) == (5, 4, 1)
    assert err.count("sent ") == 3  # 5 names in chunks of 2
    assert "invalid: bad name" in err

    code, out, _ = run("domains", "update", "a.example", "b.example", "--add-tag", "prod", "--favorite")
    assert code == 0
    code, out, _ = run("domains", "list", "--tag", "prod", "--favorite", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["domain"], r["tags"], r["is_favorite"]) for r in rows] == [
        ("a.example", "prod", "true"),
        ("b.example", "prod", "true"),
    ]
    code, out, _ = run("domains", "list", "--no-favorite", "--names")
    assert out.split() == ["c.example", "d.example"]
    code, out, _ = run("domains", "list", "--search", "c.ex")
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["domain", "status", "dmarc_policy_p"]
    assert [line.split()[0] for line in lines] == ["c.example"]


def test_names_pipe_into_a_bulk_tag(run: Run) -> None:
    run("domains", "add", "shop.example", "blog.example", "shop2.example")
    _, names, _ = run("domains", "list", "--search", "shop", "--names")
    code, _, err = run("domains", "update", "--file", "-", "--add-tag", "shop", stdin=names)
    assert code == 0
    assert "2 updated" in err
    _, tagged, _ = run("domains", "list", "--tag", "shop", "--names")
    assert tagged.split() == ["shop.example", "shop2.example"]


def test_get_update_one_and_delete(run: Run) -> None:
    run("domains", "add", "one.example")
    code, out, _ = run("domains", "update", "one.example", "--notes", "hello", "--tags", "a,b", "--json")
    assert code == 0
    assert json.loads(out)["tags"] == ["a", "b"]
    code, out, _ = run("domains", "get", "one.example", "--json")
    detail = json.loads(out)
    assert (detail["notes"], detail["tld"]) == ("hello", "example")
    code, out, _ = run("domains", "get", "one.example")
    assert any(line.split()[:2] == ["notes", "hello"] for line in out.splitlines())
    code, out, _ = run("domains", "delete", "one.example", "--json")
    assert json.loads(out)[0]["status"] == "removed"
    code, out, _ = run("domains", "list", "--status", "removed", "--names")
    assert out.split() == ["one.example"]


def test_errors_go_to_stderr_with_status_1(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run("domains", "get", "missing.example")
    assert (code, out) == (1, "")
    assert err.startswith("error: 404 not_found:")
    code, _, err = run("domains", "update", "x.example")
    assert code == 1
    assert "nothing to change" in err
    monkeypatch.delenv("DMARCWATCH_API_KEY")
    code, _, err = run("domains", "list")
    assert code == 1
    assert "DMARCWATCH_API_KEY" in err


def test_export_create_wait_download_list_get(run: Run, tmp_path: Path) -> None:
    run("domains", "add", "x.example", "y.example")
    target = tmp_path / "domains.csv"
    code, out, err = run(
        "export", "create", "--type", "csv", "--columns", "domain,id", "--download", str(target), "--json"
    )
    assert code == 0, err
    export: dict[str, Any] = json.loads(out)
    assert export["status"] == "completed"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [r["domain"] for r in rows] == ["x.example", "y.example"]
    assert f"export {export['id']} queued" in err
    assert f"wrote {export['file_size']} bytes to {target}" in err

    code, out, _ = run("export", "list", "--csv")
    assert [r["id"] for r in csv.DictReader(io.StringIO(out))] == [export["id"]]
    code, out, _ = run("export", "get", export["id"], "--json")
    assert json.loads(out)["file_url"]
    again = tmp_path / "again.csv"
    code, _, err = run("export", "download", export["id"], "-o", str(again))
    assert code == 0
    assert again.read_bytes() == target.read_bytes()
    code, out, _ = run("export", "delete", export["id"], "--json")
    assert json.loads(out) == {"id": export["id"], "deleted": True}


def test_the_api_url_defaults_to_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DMARCWATCH_API_URL", raising=False)
    monkeypatch.setenv("DMARCWATCH_API_PORT", "8123")
    assert cli_client.default_api_url() == "http://127.0.0.1:8123/v1"
    monkeypatch.setenv("DMARCWATCH_API_URL", "https://api.example.test/v1")
    assert cli_client.default_api_url() == "https://api.example.test/v1"
