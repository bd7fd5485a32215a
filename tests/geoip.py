"""Tiny MaxMind-format ASN and city files for tests, built with `mmdb-writer` in the GeoLite2 layouts.

The networks hold the fixture zones' server addresses (tests/dns/zones: mimecast.test's MX hosts,
acme.test's web servers) and the documentation range the report tests send from. Their values differ from
what geoip2fast says of the same addresses, so a test sees which source a field came from. Nothing here
is real data: the AS numbers are from the documentation range (RFC 5398).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MmdbU32, MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]  # no stubs published

from dmarcwatch.config import get_settings

# network -> (AS number, AS organisation)
ASNS = {
    "195.130.217.0/24": (64500, "Example Mail Networks"),
    "104.16.0.0/13": (64501, "Example Web Networks"),
    "2606:4700::/32": (64502, "Example Web Networks v6"),
    "192.0.2.0/24": (64503, "Example Senders"),
}
# network -> (country, region, city, latitude, longitude)
CITIES = {
    "195.130.217.0/24": ("DE", "Bavaria", "Munich", 48.1374, 11.5755),
    "2606:4700::/32": ("JP", "Tokyo", "Tokyo", 35.6895, 139.6917),
    "192.0.2.0/24": ("FR", "Île-de-France", "Paris", 48.8566, 2.3522),
}
# In neither file.
MISS = "198.51.100.9"


def _writer(database_type: str) -> MMDBWriter:
    # One IPv6 tree holding IPv4 too, as the GeoLite2 files are.
    return MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description="dmarcwatch test data",
    )


def write_asn(path: Path) -> Path:
    writer = _writer("GeoLite2-ASN")
    for network, (number, organisation) in ASNS.items():
        writer.insert_network(
            IPSet([network]),
            {"autonomous_system_number": MmdbU32(number), "autonomous_system_organization": organisation},
        )
    writer.to_db_file(str(path))
    return path


def write_city(path: Path) -> Path:
    writer = _writer("GeoLite2-City")
    for network, (country, region, city, latitude, longitude) in CITIES.items():
        writer.insert_network(
            IPSet([network]),
            {
                "country": {"iso_code": country, "names": {"en": country}},
                "subdivisions": [{"iso_code": region[:2].upper(), "names": {"en": region}}],
                "city": {"names": {"en": city}},
                "location": {
                    "latitude": MmdbF64(latitude),
                    "longitude": MmdbF64(longitude),
                    "accuracy_radius": 20,
                },
            },
        )
    writer.to_db_file(str(path))
    return path


def configure(monkeypatch: pytest.MonkeyPatch, asn: Path | None, city: Path | None) -> None:
    """Name the files in the settings (None: not configured)."""
    for name, path in (("DMARCWATCH_GEOIP_ASN_FILE", asn), ("DMARCWATCH_GEOIP_CITY_FILE", city)):
        if path is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(path))
    get_settings.cache_clear()


@pytest.fixture
def geoip_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both files written and configured through the environment, as an operator would. A test that
    reconfigures (`configure`) reads the paths from `get_settings()`."""
    configure(monkeypatch, write_asn(tmp_path / "asn.mmdb"), write_city(tmp_path / "city.mmdb"))
    yield
    get_settings.cache_clear()


@pytest.fixture
def no_geoip_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Neither file configured; a test may `configure` some, and the settings are reread after it."""
    configure(monkeypatch, None, None)
    yield
    get_settings.cache_clear()
