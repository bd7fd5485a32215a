"""AS numbers and city geolocation from operator-supplied MaxMind-format files (`dmarcwatch.ipdata`)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dmarcwatch import geo, ipdata
from tests.geoip import MISS, configure, geoip_files, no_geoip_files, write_asn, write_city  # noqa: F401

MX = "195.130.217.11"  # mimecast.test's first MX host
WEB_V6 = "2606:4700::6810:84e5"  # acme.test's AAAA


@pytest.mark.usefixtures("geoip_files")
def test_asn_and_city_lookups_over_ipv4_and_ipv6() -> None:
    mx = ipdata.lookup(MX)
    assert (mx.asn, mx.as_org) == (64500, "Example Mail Networks")
    assert (mx.country, mx.region, mx.city) == ("DE", "Bavaria", "Munich")
    assert (mx.latitude, mx.longitude) == (48.1374, 11.5755)
    # geoip2fast still names the network.
    assert (mx.org, mx.network) == (geo.lookup(MX).org, geo.lookup(MX).network)
    web = ipdata.lookup(WEB_V6)
    assert (web.asn, web.as_org, web.country, web.city) == (64502, "Example Web Networks v6", "JP", "Tokyo")


@pytest.mark.usefixtures("geoip_files")
def test_a_miss_is_null_and_the_country_falls_back_to_geoip2fast() -> None:
    web = ipdata.lookup("104.16.132.229")  # in the ASN file, not in the city file
    assert (web.asn, web.as_org) == (64501, "Example Web Networks")
    assert (web.region, web.city, web.latitude, web.longitude) == (None, None, None, None)
    assert web.country == geo.lookup("104.16.132.229").country == "US"
    miss = ipdata.lookup(MISS)
    assert (miss.asn, miss.as_org, miss.city, miss.country) == (None, None, None, None)


@pytest.mark.usefixtures("no_geoip_files")
def test_without_files_the_new_fields_are_null() -> None:
    found = ipdata.lookup(MX)
    assert (found.asn, found.as_org, found.region, found.city, found.latitude, found.longitude) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
    assert (
        (found.country, found.org)
        == (geo.lookup(MX).country, geo.lookup(MX).org)
        == (
            "GB",
            "Mimecast Services Limited",
        )
    )
    assert ipdata.version() == "asn:-,city:-"


@pytest.mark.usefixtures("no_geoip_files")
def test_an_asn_file_alone_leaves_the_location_to_geoip2fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, write_asn(tmp_path / "asn.mmdb"), None)
    found = ipdata.lookup(MX)
    assert (found.asn, found.country, found.city) == (64500, "GB", None)


@pytest.mark.usefixtures("no_geoip_files")
@pytest.mark.parametrize("content", [b"", b"not a maxmind file" * 100, None])
def test_an_unreadable_file_logs_once_and_answers_nulls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, content: bytes | None
) -> None:
    broken = tmp_path / "broken.mmdb"
    if content is not None:  # None: configured, but the file is missing
        broken.write_bytes(content)
    configure(monkeypatch, broken, write_city(tmp_path / "city.mmdb"))
    with caplog.at_level(logging.INFO, logger="dmarcwatch"):
        first, second = ipdata.lookup(MX), ipdata.lookup(WEB_V6)
    assert (first.asn, first.as_org, second.asn) == (None, None, None)
    assert first.city == "Munich"  # the other file still answers
    unusable = [r for r in caplog.records if r.getMessage().startswith("GeoIP file unusable")]
    assert len(unusable) == 1
    assert unusable[0].levelno == logging.ERROR
    assert str(broken) in json.dumps(unusable[0].__dict__, default=str)


@pytest.mark.usefixtures("no_geoip_files")
def test_a_file_corrupt_inside_is_dropped_after_its_first_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid metadata (it opens) over a garbled search tree: the failure surfaces at a lookup."""
    path = write_asn(tmp_path / "asn.mmdb")
    data = bytearray(path.read_bytes())
    data[: len(data) // 2] = b"\xff" * (len(data) // 2)
    path.write_bytes(bytes(data))
    configure(monkeypatch, path, None)
    with caplog.at_level(logging.ERROR, logger="dmarcwatch"):
        found = [ipdata.lookup(address) for address in (MX, WEB_V6, "104.16.132.229")]
    assert {(info.asn, info.as_org) for info in found} == {(None, None)}
    assert [info.country for info in found] == ["GB", "US", "US"]  # geoip2fast keeps answering
    corrupt = [r for r in caplog.records if r.getMessage().startswith("GeoIP file corrupt")]
    assert len(corrupt) == 1
    assert ipdata.version() == "asn:-,city:-"


@pytest.mark.usefixtures("geoip_files")
def test_a_file_is_opened_once_per_process() -> None:
    for _ in range(3):
        ipdata.lookup(MX)
    assert ipdata._open.cache_info().currsize >= 2
    before = ipdata._open.cache_info().misses
    ipdata.lookup(WEB_V6)
    assert ipdata._open.cache_info().misses == before


@pytest.mark.usefixtures("geoip_files")
def test_the_version_names_the_files_build() -> None:
    version = ipdata.version()
    assert re.fullmatch(r"asn:\d+,city:\d+", version), version


@pytest.mark.usefixtures("geoip_files")
def test_a_mistyped_address_is_a_miss_not_an_error() -> None:
    assert ipdata.lookup("not-an-ip").asn is None


def test_importing_ipdata_does_not_import_maxminddb() -> None:
    """maxminddb costs ~40 ms of imports: the scanner's and parser's cold starts never pay it."""
    probe = "import sys, dmarcwatch.dns.scan, dmarcwatch.enrich.ipinfo; print('maxminddb' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={"PATH": ""}
    )
    assert out.stdout.strip() == "False"
