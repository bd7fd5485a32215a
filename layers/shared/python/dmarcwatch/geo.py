"""Where an IP address is: country and network from the offline database of the `geoip2fast` package.

A bottom-layer module (it imports nothing from the package), so both the DNS scan (the country of a
domain's mail and web servers) and source enrichment (`enrich.ipinfo`) use it without one depending on
the other. No network: the database ships inside the package and loads on first use (about 0.2 s), then
stays loaded for the life of the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from geoip2fast import GeoIP2Fast

# The database with AS names and IPv6 ranges (the package's default has countries of IPv4 only).
DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True, slots=True)
class GeoInfo:
    """What the database says of one address; None where it has nothing (private and reserved ranges)."""

    country: str | None = None
    org: str | None = None
    network: str | None = None


@cache
def _database() -> Any:
    return GeoIP2Fast(geoip2fast_data_file=DATA_FILE)


def load() -> None:
    """Load the database now (a cold start does it before any timed work)."""
    _database()


def _known(value: str | None) -> str | None:
    # The database marks "not known" with values beginning with "--" (e.g. "--" for the country).
    return value if value and not value.startswith("--") else None


def lookup(address: str) -> GeoInfo:
    found = _database().lookup(address)
    return GeoInfo(
        country=_known(found.country_code), org=_known(found.asn_name), network=found.asn_cidr or None
    )
