"""Sources and scan results carry AS numbers and locations from the operator's MaxMind-format files
(configured through the environment, as in a deployment), and the per-IP cache keeps them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.config import get_settings
from dmarcwatch.enrich import ipinfo
from dmarcwatch.models import utcnow
from dmarcwatch.store import ipinfo as cache_store
from tests.dns.conftest import dns_server  # noqa: F401 - the fixture, shared with the DNS tests
from tests.geoip import MISS, configure, geoip_files, no_geoip_files  # noqa: F401
from tests.integration.conftest import ApiAccount
from tests.integration.test_reports_api import ROWS, monitored, upload  # noqa: F401 - monitored: a fixture
from tests.support.reports import aggregate_xml

GEO_FIELDS = ("asn", "as_org", "region", "city", "latitude", "longitude")


def _sources(client: TestClient, account: ApiAccount) -> dict[str, dict[str, Any]]:
    upload(client, account, aggregate_xml("example.com", ROWS))
    response = client.get("/v1/domains/example.com/sources?date=2026-01-01", headers=account.headers())
    assert response.status_code == 200, response.text
    return {row["ip"]: row for row in response.json()["data"]}


@pytest.mark.usefixtures("geoip_files", "monitored")
def test_sources_carry_as_number_and_location(client: TestClient, account: ApiAccount) -> None:
    sources = _sources(client, account)
    found = {field: sources["192.0.2.1"][field] for field in (*GEO_FIELDS, "country")}
    assert found == {
        "asn": 64503,
        "as_org": "Example Senders",
        "region": "Île-de-France",
        "city": "Paris",
        "latitude": 48.8566,
        "longitude": 2.3522,
        "country": "FR",
    }
    assert {field: sources[MISS][field] for field in GEO_FIELDS} == dict.fromkeys(GEO_FIELDS)
    assert "offline_version" not in sources["192.0.2.1"]


@pytest.mark.usefixtures("no_geoip_files", "monitored")
def test_without_files_the_source_fields_are_null(client: TestClient, account: ApiAccount) -> None:
    sources = _sources(client, account)
    for row in sources.values():
        assert {field: row[field] for field in GEO_FIELDS} == dict.fromkeys(GEO_FIELDS)


@pytest.mark.usefixtures("geoip_files", "monitored")
def test_a_corrupt_file_answers_nulls_not_errors(
    client: TestClient, account: ApiAccount, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"\x00" * 4096)
    configure(monkeypatch, broken, Path(str(get_settings().geoip_city_file)))
    sources = _sources(client, account)
    assert (sources["192.0.2.1"]["asn"], sources["192.0.2.1"]["city"]) == (None, "Paris")


@pytest.mark.usefixtures("aws", "geoip_files")
def test_the_cache_item_carries_the_fields_and_old_items_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    files = get_settings().geoip_asn_file, get_settings().geoip_city_file
    ips = ["192.0.2.1", "203.0.113.7"]
    first = ipinfo.lookup(ips)
    cached = cache_store.get_many(ips)
    assert (cached["192.0.2.1"]["asn"], cached["192.0.2.1"]["city"]) == (64503, "Paris")
    assert cached["192.0.2.1"]["offline_version"] == first["192.0.2.1"].offline_version

    # An item cached before these fields existed: read, given the fields, and never looked up again.
    old = {"ip": "198.51.100.77", "hostname": "mx.old.example", "hostname_status": "ok", "country": "XX"}
    cache_store.put_many([(old["ip"], old)], utcnow() + ipinfo.CACHE_TTL)

    def no_lookups(*_: object) -> None:
        raise AssertionError("looked up again")

    monkeypatch.setattr(ipinfo, "_enrich", no_lookups)
    again = ipinfo.lookup([*ips, old["ip"]])
    assert again["192.0.2.1"] == first["192.0.2.1"]
    assert (again[old["ip"]].hostname, again[old["ip"]].hostname_status) == ("mx.old.example", "ok")
    assert again[old["ip"]].asn is None  # 198.51.100.0/24 is in neither file
    assert again[old["ip"]].country is None  # from the current data, not the stale "XX"

    # The operator adds files after items were cached: the cached items get the new fields on read.
    configure(monkeypatch, None, None)
    assert ipinfo.lookup(["192.0.2.1"])["192.0.2.1"].asn is None
    configure(monkeypatch, *(Path(str(path)) for path in files))
    assert ipinfo.lookup(["192.0.2.1"])["192.0.2.1"].asn == 64503


@pytest.mark.usefixtures("dns_server", "geoip_files")
def test_scan_results_carry_server_as_numbers_and_address_families(
    client: TestClient, account: ApiAccount
) -> None:
    created = client.post("/v1/domains", headers=account.headers(), json={"domain": "corp-a.test"})
    domain_id = created.json()["data"]["id"]
    scanned = client.post(f"/v1/domains/{domain_id}/scan", headers=account.headers())
    assert scanned.status_code == 200, scanned.text
    latest = client.get(f"/v1/domains/{domain_id}/scan-results", headers=account.headers())
    assert latest.status_code == 200, latest.text
    for result in (scanned.json()["data"]["result"], latest.json()["data"]["result"]):
        assert (result["mx_server_asn"], result["mx_server_asn_org"]) == (64503, "Example Senders")
        assert (result["mx_server_region"], result["mx_server_city"]) == ("Île-de-France", "Paris")
        assert (result["mx_server_lat"], result["mx_server_lon"]) == (48.8566, 2.3522)
        assert (result["a_server_asn"], result["a_server_city"], result["a_server_country"]) == (
            64503,
            "Paris",
            "FR",
        )
        # An unverified domain's scan reads its first three MX hosts (dns.limits.UNVERIFIED).
        assert result["mx_server_ipv4"] == ["192.0.2.26", "192.0.2.27", "192.0.2.28"]
        assert result["mx_server_ipv6"] == ["2001:db8:4860::1a", "2001:db8:4860::1b"]
        assert (result["a_server_ipv4"], result["a_server_ipv6"]) == (["192.0.2.80"], [])
