"""Every operation answers only what docs/openapi.json declares for it, with bodies of the declared shape.

Each route of the registry is called with a valid request, an invalid one, without a key, with another
tenant's key (another account, and the same account's other environment) and with a `read` key. Every
answer's status must be declared for the operation, and its body must validate against the declared
schema. A route without a case here fails `test_every_route_has_a_contract_case`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from jsonschema import Draft202012Validator

from dmarcwatch.api.openapi import openapi_document
from dmarcwatch.api.registry import API_PREFIX, RouteSpec, route_specs
from dmarcwatch.ingest import pipeline
from dmarcwatch.models import Environment, Tenant
from dmarcwatch.store import blobs
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.integration.conftest import ApiAccount
from tests.support.reports import Row, aggregate_xml

pytestmark = pytest.mark.usefixtures("dns_server")

DOCUMENT = openapi_document()
DOMAIN = "corp-a.test"  # a fixture zone (tests/dns/zones), so scans and verification get real answers
TOO_LONG = "x" * 300  # longer than any id or domain name a path takes


@dataclass
class World:
    """One account with a scanned domain, a report, a quarantine entry and a `read` key."""

    client: TestClient
    account: ApiAccount
    other: ApiAccount
    read_key: str
    domain_id: str
    report_id: str
    quarantine_id: str
    ids: list[str] = field(default_factory=list)

    def spare_key_id(self) -> str:
        created = self.client.post("/v1/keys", headers=self.account.headers(), json={"name": "spare"})
        return str(created.json()["data"]["id"])

    def folder_id(self) -> str:
        created = self.client.post(
            "/v1/folders", headers=self.account.headers(), json={"name": f"folder {uuid.uuid4().hex[:8]}"}
        )
        return str(created.json()["data"]["id"])

    def export_id(self) -> str:
        created = self.client.post("/v1/exports", headers=self.account.headers(), json={})
        return str(created.json()["data"]["id"])

    def upload_id(self) -> str:
        uploaded = self.client.post(
            "/v1/reports",
            headers=self.account.headers(),
            content=aggregate_xml(DOMAIN, [Row("192.0.2.9", 1)]),
        )
        return str(uploaded.json()["data"]["id"])


def ingest(tenant: Tenant, xml: bytes) -> pipeline.IngestOutcome:
    key = f"inbound/api/{tenant.account_id}/live/{uuid.uuid4().hex}"
    blobs.put_raw(key, xml, {"source": "api-upload"})
    return pipeline.ingest_object(key, only=tenant)


@pytest.fixture
def world(client: TestClient, make_account: Callable[..., ApiAccount]) -> World:
    account, other = make_account(), make_account()
    headers = account.headers()
    domain_id = client.post("/v1/domains", headers=headers, json={"domain": DOMAIN}).json()["data"]["id"]
    assert client.post(f"/v1/domains/{domain_id}/scan", headers=headers).status_code == 200
    tenant = Tenant(account_id=account.id, environment=Environment.LIVE)
    stored = ingest(tenant, aggregate_xml(DOMAIN, [Row("192.0.2.1", 3)])).stored
    quarantined = ingest(tenant, aggregate_xml("unmonitored.test", [Row("192.0.2.1", 1)])).quarantined
    reader = client.post("/v1/keys", headers=headers, json={"name": "reader", "scope": "read"})
    return World(
        client=client,
        account=account,
        other=other,
        read_key=reader.json()["data"]["key"],
        domain_id=domain_id,
        report_id=stored[0].id,
        quarantine_id=quarantined[0].id,
        ids=[domain_id, stored[0].id, quarantined[0].id],
    )


Request = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Case:
    # The path (under /v1) and the client's keyword arguments (params, json, content).
    valid: Callable[[World], Request]
    # A request whose input is invalid (400); None for an operation that takes no input.
    invalid: Callable[[World], Request] | None = None


def d(world: World) -> str:
    return world.domain_id


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/health"): Case(lambda w: ("/health", {})),
    ("GET", "/"): Case(lambda w: ("/", {})),
    ("GET", "/account"): Case(lambda w: ("/account", {})),
    ("GET", "/keys"): Case(lambda w: ("/keys", {})),
    ("POST", "/keys"): Case(
        lambda w: ("/keys", {"json": {"name": "ci", "scope": "write", "expires_in_days": 30}}),
        lambda w: ("/keys", {"json": {"name": "ci", "expires_in_days": None}}),
    ),
    ("DELETE", "/keys/{key_id}"): Case(
        lambda w: (f"/keys/{w.spare_key_id()}", {}), lambda w: (f"/keys/{TOO_LONG}", {})
    ),
    ("PATCH", "/keys/{key_id}"): Case(
        lambda w: (f"/keys/{w.spare_key_id()}", {"json": {"name": "renamed"}}),
        lambda w: (f"/keys/{TOO_LONG}", {"json": {"name": "renamed"}}),
    ),
    ("POST", "/keys/{key_id}/rotate"): Case(
        lambda w: (f"/keys/{w.spare_key_id()}/rotate", {"json": {"grace_seconds": 0}}),
        lambda w: (f"/keys/{TOO_LONG}/rotate", {"json": {"grace_seconds": 0}}),
    ),
    ("GET", "/organizations/{account_id}/domains"): Case(
        lambda w: (f"/organizations/{w.account.id}/domains", {}),
        lambda w: (f"/organizations/{w.account.id}/domains", {"params": {"limit": 0}}),
    ),
    ("GET", "/domains"): Case(
        lambda w: ("/domains", {"params": {"search": "corp"}}),
        lambda w: ("/domains", {"params": {"limit": 0}}),
    ),
    ("POST", "/domains"): Case(
        lambda w: ("/domains", {"json": {"domain": "new.example"}}),
        lambda w: ("/domains", {"json": {"domain": "a.example", "domains": ["b.example"]}}),
    ),
    ("GET", "/domains/{domain_id}"): Case(
        lambda w: (f"/domains/{d(w)}", {}), lambda w: (f"/domains/{TOO_LONG}", {})
    ),
    ("DELETE", "/domains/{domain_id}"): Case(
        lambda w: (f"/domains/{d(w)}", {}), lambda w: (f"/domains/{TOO_LONG}", {})
    ),
    ("POST", "/domains/{domain_id}/activate"): Case(
        lambda w: (f"/domains/{d(w)}/activate", {}), lambda w: (f"/domains/{TOO_LONG}/activate", {})
    ),
    ("POST", "/domains/{domain_id}/deactivate"): Case(
        lambda w: (f"/domains/{d(w)}/deactivate", {}), lambda w: (f"/domains/{TOO_LONG}/deactivate", {})
    ),
    ("POST", "/domains/{domain_id}/verify"): Case(
        lambda w: (f"/domains/{d(w)}/verify", {}), lambda w: (f"/domains/{TOO_LONG}/verify", {})
    ),
    ("POST", "/domains/{domain_id}/scan"): Case(
        lambda w: (f"/domains/{d(w)}/scan", {}), lambda w: (f"/domains/{TOO_LONG}/scan", {})
    ),
    ("POST", "/domains/{domain_id}/refresh_dns"): Case(
        lambda w: (f"/domains/{d(w)}/refresh_dns", {}), lambda w: (f"/domains/{TOO_LONG}/refresh_dns", {})
    ),
    ("GET", "/domains/{domain_id}/whois"): Case(
        lambda w: (f"/domains/{d(w)}/whois", {}), lambda w: (f"/domains/{TOO_LONG}/whois", {})
    ),
    ("POST", "/domains/{domain_id}/refresh_whois"): Case(
        lambda w: (f"/domains/{d(w)}/refresh_whois", {}), lambda w: (f"/domains/{TOO_LONG}/refresh_whois", {})
    ),
    ("GET", "/domains/{domain_id}/scan-results"): Case(
        lambda w: (f"/domains/{d(w)}/scan-results", {}), lambda w: (f"/domains/{TOO_LONG}/scan-results", {})
    ),
    ("GET", "/domains/{domain_id}/dns-records"): Case(
        lambda w: (f"/domains/{d(w)}/dns-records", {}), lambda w: (f"/domains/{TOO_LONG}/dns-records", {})
    ),
    ("GET", "/domains/{domain_id}/changes"): Case(
        lambda w: (f"/domains/{d(w)}/changes", {}),
        lambda w: (f"/domains/{d(w)}/changes", {"params": {"limit": 1001}}),
    ),
    ("GET", "/domains/{domain_id}/stats"): Case(
        lambda w: (
            f"/domains/{d(w)}/stats",
            {"params": {"start_date": "2026-01-01", "end_date": "2026-01-02"}},
        ),
        lambda w: (f"/domains/{d(w)}/stats", {"params": {"start_date": "01/01/2026"}}),
    ),
    ("GET", "/domains/{domain_id}/sources"): Case(
        lambda w: (f"/domains/{d(w)}/sources", {"params": {"date": "2026-01-01"}}),
        lambda w: (f"/domains/{d(w)}/sources", {"params": {"range": "1y"}}),
    ),
    ("GET", "/reports"): Case(
        lambda w: ("/reports", {"params": {"domain_id": DOMAIN}}),
        lambda w: ("/reports", {"params": {"kind": "x"}}),
    ),
    ("POST", "/reports"): Case(
        lambda w: ("/reports", {"content": aggregate_xml(DOMAIN, [Row("192.0.2.7", 2)], report_id="up")}),
        lambda w: ("/reports", {"content": b""}),
    ),
    ("GET", "/reports/{report_id}"): Case(
        lambda w: (f"/reports/{w.report_id}", {}),
        lambda w: (f"/reports/{w.report_id}", {"params": {"limit": 0}}),
    ),
    ("GET", "/reports/{report_id}/raw"): Case(
        lambda w: (f"/reports/{w.report_id}/raw", {}), lambda w: (f"/reports/{TOO_LONG}/raw", {})
    ),
    # The upload id is looked up unchecked (an over-long one is simply not found).
    ("GET", "/uploads/{upload_id}"): Case(lambda w: (f"/uploads/{w.upload_id()}", {})),
    ("GET", "/quarantine"): Case(
        lambda w: ("/quarantine", {}), lambda w: ("/quarantine", {"params": {"limit": -1}})
    ),
    ("POST", "/exports"): Case(
        lambda w: ("/exports", {"json": {"dataset": "domains", "columns": ["id", "domain"]}}),
        lambda w: ("/exports", {"json": {"export_type": "pdf"}}),
    ),
    ("GET", "/exports"): Case(lambda w: ("/exports", {}), lambda w: ("/exports", {"params": {"limit": 0}})),
    ("GET", "/exports/{export_id}"): Case(
        lambda w: (f"/exports/{w.export_id()}", {}), lambda w: (f"/exports/{TOO_LONG}", {})
    ),
    ("DELETE", "/exports/{export_id}"): Case(
        lambda w: (f"/exports/{w.export_id()}", {}), lambda w: (f"/exports/{TOO_LONG}", {})
    ),
    ("POST", "/quarantine/{quarantine_id}/reprocess"): Case(
        lambda w: (f"/quarantine/{w.quarantine_id}/reprocess", {}),
        lambda w: (f"/quarantine/{TOO_LONG}/reprocess", {}),
    ),
    # Portfolio: the domain's own fields, folders and tags.
    ("PATCH", "/domains/{domain_id}"): Case(
        lambda w: (f"/domains/{d(w)}", {"json": {"tags": ["prod"], "is_favorite": True}}),
        lambda w: (f"/domains/{d(w)}", {"json": {"colour": "red"}}),
    ),
    ("POST", "/domains/bulk-update"): Case(
        # By name: a stranger's answer echoes the refs it sent as not found (never an id of ours).
        lambda w: ("/domains/bulk-update", {"json": {"ids": [DOMAIN], "add_tags": ["eu"]}}),
        lambda w: ("/domains/bulk-update", {"json": {"ids": []}}),
    ),
    ("GET", "/folders"): Case(lambda w: ("/folders", {})),
    ("POST", "/folders"): Case(
        lambda w: ("/folders", {"json": {"name": f"new {uuid.uuid4().hex[:8]}"}}),
        lambda w: ("/folders", {"json": {"name": ""}}),
    ),
    ("GET", "/folders/{folder_id}"): Case(
        lambda w: (f"/folders/{w.folder_id()}", {}), lambda w: (f"/folders/{TOO_LONG}", {})
    ),
    ("PATCH", "/folders/{folder_id}"): Case(
        lambda w: (f"/folders/{w.folder_id()}", {"json": {"name": f"renamed {uuid.uuid4().hex[:8]}"}}),
        lambda w: (f"/folders/{w.folder_id()}", {"json": {"name": "x" * 101}}),
    ),
    ("DELETE", "/folders/{folder_id}"): Case(
        lambda w: (f"/folders/{w.folder_id()}", {}), lambda w: (f"/folders/{TOO_LONG}", {})
    ),
    ("GET", "/tags"): Case(lambda w: ("/tags", {})),
    ("GET", "/events"): Case(
        lambda w: ("/events", {"params": {"type": "report.received"}}),
        lambda w: ("/events", {"params": {"type": "nope"}}),
    ),
    ("GET", "/events/types"): Case(lambda w: ("/events/types", {})),
    ("GET", "/dashboard/summary"): Case(
        lambda w: ("/dashboard/summary", {}),
        lambda w: ("/dashboard/summary", {"params": {"folder_id": "none", "tag": "eu"}}),
    ),
}


def assert_declared(response: Response, spec: RouteSpec) -> None:
    """The status is declared for the operation and the body validates against its declared schema."""
    responses = DOCUMENT["paths"][spec.path][spec.method.lower()]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{spec.method} {spec.path} answered {status}: {response.text[:300]}"
    schema = responses[status]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": DOCUMENT["components"]})
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not problems, (spec.method, spec.path, status, problems[:5])


def call(world: World, spec: RouteSpec, request: Request, headers: dict[str, str]) -> Response:
    path, kwargs = request
    return world.client.request(spec.method, API_PREFIX + path, headers=headers, **kwargs)


def spec_id(spec: RouteSpec) -> str:
    return f"{spec.method} {spec.path}"


def test_every_route_has_a_contract_case() -> None:
    missing = [spec_id(s) for s in route_specs() if (s.method, s.path) not in CASES]
    assert not missing, f"add a Case for {missing}"


@pytest.mark.parametrize("spec", route_specs(), ids=spec_id)
def test_the_operation_answers_only_what_it_declares(world: World, spec: RouteSpec) -> None:
    case = CASES[(spec.method, spec.path)]
    mine = world.account.headers()
    request = case.valid(world)  # once: building it may create what it names (a key, an upload)

    valid = call(world, spec, request, mine)
    assert 200 <= valid.status_code < 300, valid.text
    assert_declared(valid, spec)

    if case.invalid is not None:
        invalid = call(world, spec, case.invalid(world), mine)
        assert invalid.status_code == 400, invalid.text
        assert invalid.json()["error"]["code"] in ("validation_error", "invalid_date")
        assert_declared(invalid, spec)

    if spec.public:
        return
    anonymous = call(world, spec, request, {})
    assert anonymous.status_code == 401
    assert_declared(anonymous, spec)

    # Another account, and the same account's test environment: 404 for our ids, never our data.
    for strangers in (world.other.headers(), world.account.headers("test")):
        foreign = call(world, spec, request, strangers)
        assert_declared(foreign, spec)
        # The account id names the account, both of whose environments may ask: its test key gets the
        # test environment's listing, which must hold none of the live ids.
        same_account = strangers == world.account.headers("test") and "{account_id}" in spec.path
        if "{" in spec.path and not same_account:
            assert foreign.status_code == 404, foreign.text
        elif foreign.is_success:
            assert not any(i in foreign.text for i in world.ids), foreign.text

    reader = call(world, spec, request, {"Authorization": f"Bearer {world.read_key}"})
    assert_declared(reader, spec)
    if spec.method != "GET" or spec.path.startswith("/keys"):
        assert reader.status_code == 403, reader.text
        assert reader.json()["error"]["code"] == "forbidden"
    else:
        assert reader.status_code != 403, reader.text
