"""What is known offline about an IP address: its network (AS number and name) and where it is.

Three sources, none of them on the network:
- `geo` (the `geoip2fast` database inside the package): country, network name and prefix; always there.
- An operator-supplied MaxMind-format ASN file (`Settings.geoip_asn_file`, GeoLite2-ASN layout):
  `asn` and `as_org`.
- An operator-supplied MaxMind-format city file (`Settings.geoip_city_file`, GeoLite2-City layout):
  `region`, `city`, `latitude`, `longitude`, and the country (geoip2fast's is the fallback).

The files are optional and never an error: without one, or with one that cannot be read, its fields are
null and the reason is logged once per process. Each file is opened once per process, on the first
lookup (so `maxminddb`, ~40 ms of imports, is never part of a cold start), memory-mapped: a lookup reads
the few pages it walks, and a 60 MB city file costs neither the time to read it nor the memory to hold
it. A file that fails while being read is treated as corrupt and not used again by the process. See
docs/geo.md for how an operator supplies the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from dmarcwatch import geo
from dmarcwatch.config import get_settings
from dmarcwatch.observability import logger

if TYPE_CHECKING:
    from maxminddb.reader import Reader


@dataclass(frozen=True, slots=True)
class IpData:
    """None wherever the sources have nothing (private ranges, a miss, a file not configured)."""

    country: str | None = None
    # geoip2fast's name and prefix of the network.
    org: str | None = None
    network: str | None = None
    asn: int | None = None
    as_org: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None


NOTHING = IpData()

# Paths whose file failed during a lookup: corrupt, so not trusted again by this process.
_corrupt: set[str] = set()


@cache
def _open(path: str) -> Reader | None:
    import maxminddb  # lazily: see the module docstring

    # MODE_AUTO: memory-mapped through libmaxminddb's C extension when installed, else pure Python mmap.
    try:
        reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:  # missing, unreadable, not one
        logger.error(
            "GeoIP file unusable, its fields stay null", extra={"geoip_file": path, "error": str(error)}
        )
        return None
    meta = reader.metadata()
    logger.info(
        "GeoIP file opened",
        extra={"geoip_file": path, "database_type": meta.database_type, "build_epoch": meta.build_epoch},
    )
    return reader


def _record(path: str | None, address: str) -> dict[str, Any] | None:
    if not path or path in _corrupt:
        return None
    reader = _open(path)
    if reader is None:
        return None
    from maxminddb import InvalidDatabaseError  # loaded already by _open

    try:
        found = reader.get(address)
    except InvalidDatabaseError as error:
        _corrupt.add(path)
        logger.error(
            "GeoIP file corrupt, not used again by this process",
            extra={"geoip_file": path, "error": str(error)},
        )
        return None
    except ValueError:  # not an IP address
        return None
    return found if isinstance(found, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _name(entry: object) -> str | None:
    """The English name of a city-file entry (`{"names": {"en": ...}}`)."""
    names = entry.get("names") if isinstance(entry, dict) else None
    return _text(names.get("en")) if isinstance(names, dict) else None


def _coordinate(location: dict[str, Any], name: str) -> float | None:
    value = location.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _city_fields(record: dict[str, Any]) -> dict[str, Any]:
    subdivisions = record.get("subdivisions")
    location = record.get("location")
    location = location if isinstance(location, dict) else {}
    country = record.get("country")
    return {
        "country": _text(country.get("iso_code")) if isinstance(country, dict) else None,
        # The first subdivision is the largest (a state, a region), the one a "region" names.
        "region": _name(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else None,
        "city": _name(record.get("city")),
        "latitude": _coordinate(location, "latitude"),
        "longitude": _coordinate(location, "longitude"),
    }


def _asn_fields(record: dict[str, Any]) -> dict[str, Any]:
    number = record.get("autonomous_system_number")
    return {
        "asn": number if isinstance(number, int) and not isinstance(number, bool) else None,
        "as_org": _text(record.get("autonomous_system_organization")),
    }


def lookup(address: str) -> IpData:
    settings = get_settings()
    base = geo.lookup(address)
    asn = _record(settings.geoip_asn_file, address)
    city = _record(settings.geoip_city_file, address)
    located = _city_fields(city) if city is not None else {}
    return IpData(
        country=located.pop("country", None) or base.country,
        org=base.org,
        network=base.network,
        **(_asn_fields(asn) if asn is not None else {}),
        **located,
    )


def version() -> str:
    """Names the files in use (their build times), so a cached lookup made with other files is known."""
    settings = get_settings()
    parts = []
    for kind, path in (("asn", settings.geoip_asn_file), ("city", settings.geoip_city_file)):
        reader = _open(path) if path and path not in _corrupt else None
        parts.append(f"{kind}:{reader.metadata().build_epoch if reader is not None else '-'}")
    return ",".join(parts)
