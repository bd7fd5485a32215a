"""GET /dashboard/summary equals a brute-force recomputation from the domains themselves, for the whole
environment, every folder, `none` and every tag: after scans (against the knotd fixture zones), reports,
folder moves, tag changes, deactivations and deletes of a 1,000-domain portfolio."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.events import DnsChanged, Event
from dmarcwatch.ids import IdPrefix, new_id
from dmarcwatch.ingest import pipeline
from dmarcwatch.models import Environment, Tenant, utcnow
from dmarcwatch.plans import PlanName
from dmarcwatch.scanning.messages import ScanOrigin, ScanRequest
from dmarcwatch.scanning.service import run_scan_requests
from dmarcwatch.store import blobs
from dmarcwatch.store import events as event_store
from dmarcwatch.store import reports as report_store
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml

pytestmark = pytest.mark.usefixtures("dns_server")

ZONES = [
    "corp-a.test", "corp-b.test", "acme.test", "baddmarc.test", "badinclude.test", "bigmx.test",
    "google.test", "many-lookups.test", "mimecast.test", "nodmarc.test", "nullmx.test", "outlook.test",
    "redirect.test", "saas.test", "split.test", "syntax.test", "twospf.test", "np.test", "loop.test",
]  # fmt: skip
SIZE = 1000
TAGS = ["eu", "us", "prod", "legacy"]


def _portfolio() -> list[str]:
    """The zones themselves and names under them (NXDOMAIN, their parent's DMARC policy applies)."""
    names = list(ZONES)
    i = 0
    while len(names) < SIZE:
        names.append(f"h{i}.{ZONES[i % len(ZONES)]}")
        i += 1
    return names


def _all_domains(client: TestClient, account: ApiAccount) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/domains", headers=account.headers(), params=params).json()
        found += body["data"]
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            return found


def _brute_force(domains: list[dict[str, Any]], tenant: Tenant) -> dict[str, Any]:
    """The summary computed from the domains (and their daily statistics), without any counter."""
    total = len(domains)
    scanned = [d for d in domains if d["last_scan_at"]]

    def share(n: int) -> dict[str, Any]:
        return {"count": n, "percentage": round(100 * n / total, 1) if total else 0.0}

    gateways = Counter(d["email_gateway"] for d in scanned)
    dmarc = Counter(d["dmarc_status"] for d in scanned)
    spf = Counter(d["spf_status"] for d in scanned)
    attention = sum(
        1
        for d in scanned
        if d["dmarc_status"] in ("none", "missing") or d["spf_status"] in ("missing", "invalid", "over_limit")
    )
    today = utcnow().date()
    first = (today - timedelta(days=29)).isoformat()
    messages = passes = 0
    for d in domains:
        for row in report_store.daily_stats(tenant, d["id"], first, today.isoformat()):
            messages += int(row["messages"])
            passes += int(row["dmarc_pass"])
    fresh = sum(
        1 for d in scanned if datetime.fromisoformat(d["last_scan_at"]) > utcnow() - timedelta(hours=23)
    )
    return {
        "total_domains": total,
        "email_gateway_distribution": sorted(
            ({"gateway_name": g, **share(n)} for g, n in gateways.items()),
            key=lambda g: (-g["count"], g["gateway_name"]),
        ),
        "dmarc_distribution": {v: share(dmarc[v]) for v in ("reject", "quarantine", "none", "missing")},
        "spf_status": {v: spf[v] for v in ("valid", "over_limit", "missing", "invalid", "error")},
        "needs_attention_count": attention,
        "messages_30d": messages,
        "pass_rate_30d": round(passes / messages, 4) if messages else None,
        "scanned_last_24h": fresh,
    }


def _check(client: TestClient, account: ApiAccount, tenant: Tenant) -> None:
    domains = _all_domains(client, account)
    scopes: list[tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = [({}, lambda d: True)]
    for folder in {d["folder_id"] for d in domains}:
        scopes.append(({"folder_id": folder or "none"}, lambda d, f=folder: d["folder_id"] == f))
    for tag in {t for d in domains for t in d["tags"]}:
        scopes.append(({"tag": tag}, lambda d, t=tag: t in d["tags"]))
    for params, member in scopes:
        response = client.get("/v1/dashboard/summary", headers=account.headers(), params=params)
        assert response.status_code == 200, response.text
        got = response.json()["data"]
        expected = _brute_force([d for d in domains if member(d)], tenant)
        fresh = expected.pop("scanned_last_24h")
        assert {k: got[k] for k in expected} == expected, params
        assert got["scan_freshness"]["scanned_last_24h"] == fresh, params


def _scan(tenant: Tenant, names: list[str]) -> None:
    for start in range(0, len(names), 50):
        requests = [ScanRequest.of(tenant, n, ScanOrigin.SCHEDULE) for n in names[start : start + 50]]
        outcomes = run_scan_requests(requests)
        assert not [o for o in outcomes if isinstance(o, Exception)]


def _report(tenant: Tenant, name: str, rows: list[Row], day: date) -> None:
    begin = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    xml = aggregate_xml(name, rows, report_id=uuid.uuid4().hex, begin=begin, end=begin + 86_399)
    key = f"inbound/api/{tenant.account_id}/live/{uuid.uuid4().hex}"
    blobs.put_raw(key, xml, {"source": "api-upload"})
    assert pipeline.ingest_object(key, only=tenant).stored


@pytest.fixture
def big_account(make_account: Callable[..., ApiAccount]) -> ApiAccount:
    return make_account(PlanName.ENTERPRISE)


def test_the_summary_equals_a_brute_force_recomputation(client: TestClient, big_account: ApiAccount) -> None:
    account, rng = big_account, random.Random(11)
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    names = _portfolio()
    for start in range(0, len(names), 500):
        added = client.post(
            "/v1/domains", headers=account.headers(), json={"domains": names[start : start + 500]}
        )
        assert added.status_code == 201, added.text
    folders = [
        client.post("/v1/folders", headers=account.headers(), json={"name": f"F{i}"}).json()["data"]["id"]
        for i in range(4)
    ]

    def bulk(body: dict[str, Any], chosen: list[str]) -> None:
        response = client.post(
            "/v1/domains/bulk-update", headers=account.headers(), json={"ids": chosen, **body}
        )
        assert response.status_code == 200, response.text

    for folder in folders:
        bulk({"folder_id": folder}, rng.sample(names, 150))
    for tag in TAGS:
        bulk({"add_tags": [tag]}, rng.sample(names, 200))
    _check(client, account, tenant)  # unscanned: totals only

    _scan(tenant, names)
    today = utcnow().date()
    for name in rng.sample(names, 25):
        _report(
            tenant,
            name,
            [Row("192.0.2.1", rng.randint(1, 50)), Row("192.0.2.2", 3, dkim="fail", spf="fail")],
            today - timedelta(days=2),
        )
    _report(tenant, names[0], [Row("192.0.2.3", 1000)], today - timedelta(days=40))  # outside the window
    _check(client, account, tenant)

    # Moves, tag changes, deactivations, deletes, a deleted folder and rescans.
    bulk({"folder_id": folders[1]}, rng.sample(names, 120))
    bulk({"folder_id": None}, rng.sample(names, 60))
    bulk({"remove_tags": ["eu"], "add_tags": ["apac"]}, rng.sample(names, 90))
    for name in rng.sample(names, 10):
        client.post(f"/v1/domains/{name}/deactivate", headers=account.headers())
    gone = rng.sample(names, 40)
    for name in gone:
        assert client.delete(f"/v1/domains/{name}", headers=account.headers()).status_code == 200
    assert client.delete(f"/v1/folders/{folders[2]}", headers=account.headers()).status_code == 200
    _scan(tenant, [n for n in rng.sample(names, 100) if n not in gone])
    _check(client, account, tenant)


def test_recent_changes_are_the_scope_s_last_twenty_of_the_week(
    client: TestClient, make_account: Callable[..., ApiAccount]
) -> None:
    account = make_account()
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["a.example", "b.example"]})
    folder = client.post("/v1/folders", headers=account.headers(), json={"name": "A"}).json()["data"]["id"]
    client.patch("/v1/domains/a.example", headers=account.headers(), json={"folder_id": folder})
    now = utcnow()
    for i in range(30):
        name = "a.example" if i % 3 == 0 else "b.example"
        payload = DnsChanged(
            domain_id=new_id(IdPrefix.DOMAIN), domain=name, field="mx", old=str(i), new=str(i + 1)
        )
        event_store.put_event(
            Event(
                id=new_id(IdPrefix.EVENT),
                account_id=account.id,
                environment="live",
                created_at=now - timedelta(hours=i),
                payload=payload,
            )
        )
    old = DnsChanged(domain_id=new_id(IdPrefix.DOMAIN), domain="a.example", field="spf", old="x", new="y")
    event_store.put_event(
        Event(
            id=new_id(IdPrefix.EVENT),
            account_id=account.id,
            environment="live",
            created_at=now - timedelta(days=8),
            payload=old,
        )
    )
    everything = client.get("/v1/dashboard/summary", headers=account.headers()).json()["data"][
        "recent_changes"
    ]
    assert [c["new_value"] for c in everything] == [str(i + 1) for i in range(20)]
    in_folder = client.get(
        "/v1/dashboard/summary", headers=account.headers(), params={"folder_id": folder}
    ).json()["data"]["recent_changes"]
    assert [c["new_value"] for c in in_folder] == [str(i + 1) for i in range(0, 30, 3)]
    assert all(c["domain_name"] == "a.example" for c in in_folder)


def test_summary_validation_auth_and_tenancy(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    client.post("/v1/domains", headers=account.headers(), json={"domains": ["a.example", "b.example"]})
    assert client.get("/v1/dashboard/summary").status_code == 401
    for params in ({"folder_id": "x"}, {"tag": ""}, {"folder_id": "none", "tag": "eu"}):
        response = client.get("/v1/dashboard/summary", headers=account.headers(), params=params)
        assert response.status_code == 400, params
    mine = client.get("/v1/dashboard/summary", headers=account.headers()).json()["data"]
    assert mine["total_domains"] == 2
    theirs = client.get("/v1/dashboard/summary", headers=other_account.headers()).json()["data"]
    assert theirs["total_domains"] == 0
    test_env = client.get("/v1/dashboard/summary", headers=account.headers("test")).json()["data"]
    assert test_env["total_domains"] == 0
