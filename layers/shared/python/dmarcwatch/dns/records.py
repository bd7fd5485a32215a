"""Small parsers for the records a scan reports but does not analyse in depth: BIMI, MTA-STS, TLS-RPT
(all tag-lists in TXT), and the typed records CAA, SOA, SRV and NS.

Each takes what `DnsSession.query` returned and gives the result model's shape, sorted where the DNS
gives no order, so an unchanged zone always yields the same value.
"""

from __future__ import annotations

from collections.abc import Iterable

from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.IN.SRV import SRV

from dmarcwatch.dns.resolver import DnsResult
from dmarcwatch.dns.result import BimiInfo, CaaEntry, MtaStsInfo, SoaInfo, SrvEntry, TlsRptInfo


def parse_tags(record: str) -> dict[str, str]:
    """A tag-list (RFC 6376 §3.2, also used by BIMI, MTA-STS and TLS-RPT): `name=value` parts separated by
    ';', whitespace around names and values ignored. Lower-case names; the first of a repeated tag wins;
    parts without '=' are skipped (these records are reported, not enforced)."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if sep and name and name not in tags:
            tags[name] = value.strip()
    return tags


def _version(record: str) -> str | None:
    """The value of a leading `v=` tag, upper-cased; None when the record does not begin with one."""
    name, sep, value = record.split(";", 1)[0].partition("=")
    return value.strip().upper() if sep and name.strip().lower() == "v" else None


def _versioned(records: Iterable[str], version: str) -> str | None:
    """The record whose first tag is `v=<version>` (case-insensitive). Publishing several is an error for
    the receiver; the report shows the first in sorted order so rescans agree."""
    matching = sorted(text for text in records if _version(text) == version.upper())
    return matching[0] if matching else None


def _name(value: object) -> str:
    return str(value).rstrip(".").lower()


def bimi(result: DnsResult) -> BimiInfo | None:
    """`default._bimi.<domain>` (BIMI draft): `v=BIMI1; l=<SVG logo URL>; a=<VMC URL>`."""
    record = _versioned(result.txt(), "BIMI1")
    if record is None:
        return None
    tags = parse_tags(record)
    return BimiInfo(record=record, logo_url=tags.get("l") or None, authority=tags.get("a") or None)


def mta_sts(result: DnsResult) -> MtaStsInfo | None:
    """`_mta-sts.<domain>` (RFC 8461 §3.1): `v=STSv1; id=<policy id>`; the policy itself is on HTTPS."""
    record = _versioned(result.txt(), "STSv1")
    if record is None:
        return None
    return MtaStsInfo(record=record, id=parse_tags(record).get("id") or None)


def tls_rpt(result: DnsResult) -> TlsRptInfo | None:
    """`_smtp._tls.<domain>` (RFC 8460 §3): `v=TLSRPTv1; rua=<uri>[,<uri>...]`."""
    record = _versioned(result.txt(), "TLSRPTv1")
    if record is None:
        return None
    rua = [uri.strip() for uri in parse_tags(record).get("rua", "").split(",") if uri.strip()]
    return TlsRptInfo(record=record, rua=rua)


def caa(result: DnsResult) -> list[CaaEntry]:
    entries = [
        CaaEntry(
            flags=rdata.flags,
            tag=rdata.tag.decode("ascii", errors="replace").lower(),
            value=rdata.value.decode("utf-8", errors="replace"),
        )
        for rdata in result.rdata
        if isinstance(rdata, CAA)
    ]
    return sorted(entries, key=lambda entry: (entry.tag, entry.value, entry.flags))


def soa(result: DnsResult) -> SoaInfo | None:
    for rdata in result.rdata:
        if isinstance(rdata, SOA):
            return SoaInfo(serial=rdata.serial, mname=_name(rdata.mname), rname=_name(rdata.rname))
    return None


def srv(service: str, result: DnsResult) -> list[SrvEntry]:
    """SRV records of one service; a target of "." (RFC 2782: the service is decidedly not offered) is kept
    as "." so the report can say so."""
    entries = [
        SrvEntry(
            service=service,
            priority=rdata.priority,
            weight=rdata.weight,
            port=rdata.port,
            target=_name(rdata.target) or ".",
        )
        for rdata in result.rdata
        if isinstance(rdata, SRV)
    ]
    return sorted(entries, key=lambda entry: (entry.priority, -entry.weight, entry.target, entry.port))


def ns(result: DnsResult) -> list[str]:
    return sorted({_name(rdata.target) for rdata in result.rdata if isinstance(rdata, NS)})
