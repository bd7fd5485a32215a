"""The MX and web servers of a scan: AS numbers and locations from the operator's MaxMind-format files
(tests/geoip.py builds them), and their addresses split by family."""

from __future__ import annotations

from typing import Any

import pytest

from dmarcwatch.dns.detect import Detector, default_detector
from dmarcwatch.dns.result import ScanResult
from dmarcwatch.dns.scan import scan_domain
from tests.dns.conftest import run
from tests.geoip import geoip_files, no_geoip_files  # noqa: F401

pytestmark = pytest.mark.usefixtures("dns_server")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return default_detector().retargeted("test")


def _servers(result: ScanResult) -> dict[str, Any]:
    return {
        name: getattr(result, name)
        for name in ScanResult.model_fields
        if name.startswith(("mx_server_", "a_server_")) and name != "mx_server_ips"
    }


@pytest.mark.usefixtures("geoip_files")
def test_servers_carry_as_numbers_and_locations_from_the_files(detector: Detector) -> None:
    result = run(scan_domain("acme.test", detector=detector))
    assert _servers(result) == {
        "mx_server_country": "DE",
        "mx_server_asn": 64500,
        "mx_server_asn_org": "Example Mail Networks",
        "mx_server_region": "Bavaria",
        "mx_server_city": "Munich",
        "mx_server_lat": 48.1374,
        "mx_server_lon": 11.5755,
        # The first web address is IPv4: in the ASN file, not in the city file (country from geoip2fast).
        "a_server_country": "US",
        "a_server_asn": 64501,
        "a_server_asn_org": "Example Web Networks",
        "a_server_region": None,
        "a_server_city": None,
        "a_server_lat": None,
        "a_server_lon": None,
    }


@pytest.mark.usefixtures("no_geoip_files")
def test_without_files_only_geoip2fast_answers(detector: Detector) -> None:
    result = run(scan_domain("acme.test", detector=detector))
    found = _servers(result)
    assert (found["mx_server_country"], found["mx_server_asn_org"]) == ("GB", "Mimecast Services Limited")
    assert (found["a_server_country"], found["a_server_asn_org"]) == ("US", "CLOUDFLARENET")
    new = {"asn", "region", "city", "lat", "lon"}
    assert {name: value for name, value in found.items() if name.split("_server_")[1] in new} == {
        f"{side}_server_{field}": None for side in ("mx", "a") for field in new
    }


@pytest.mark.usefixtures("geoip_files")
def test_addresses_are_split_by_family(detector: Detector) -> None:
    mixed = run(scan_domain("corp-a.test", detector=detector))
    assert mixed.mx_server_ipv4 == ["192.0.2.26", "192.0.2.27", "192.0.2.28", "192.0.2.29", "192.0.2.30"]
    assert mixed.mx_server_ipv6 == ["2001:db8:4860::1a", "2001:db8:4860::1b"]
    assert sorted(mixed.mx_server_ipv4 + mixed.mx_server_ipv6) == sorted(mixed.mx_server_ips)
    assert (mixed.mx_server_asn, mixed.mx_server_city) == (64503, "Paris")  # the primary's IPv4 address
    acme = run(scan_domain("acme.test", detector=detector))
    assert (acme.mx_server_ipv4, acme.mx_server_ipv6) == (["195.130.217.11", "195.130.217.12"], [])
    assert (acme.a_server_ipv4, acme.a_server_ipv6) == (
        ["104.16.132.229", "104.16.133.229"],
        ["2606:4700::6810:84e5"],
    )
    dumped = acme.model_dump(mode="json")
    assert dumped["a_server_ipv6"] == ["2606:4700::6810:84e5"]
    assert ScanResult.model_validate(dumped) == acme


def test_a_result_stored_before_these_fields_reads_with_them() -> None:
    stored = {
        "domain": "old.test",
        "scanned_at": "2025-01-01T00:00:00Z",
        "mx_server_ips": ["192.0.2.1", "2001:db8::1"],
        "mx_server_country": "GB",
        "mx_server_asn_org": "Old Networks",
        "a": ["192.0.2.2"],
        "aaaa": ["2001:db8::2"],
    }
    old = ScanResult.model_validate(stored)
    assert (old.mx_server_ipv4, old.mx_server_ipv6) == (["192.0.2.1"], ["2001:db8::1"])
    assert (old.a_server_ipv4, old.a_server_ipv6) == (["192.0.2.2"], ["2001:db8::2"])
    assert (old.mx_server_asn, old.mx_server_city, old.a_server_lat) == (None, None, None)
