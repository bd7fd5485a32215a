"""Source enrichment from offline data and reverse DNS, cached per IP.

Country, network, AS number and location come from `dmarcwatch.ipdata` (offline: the `geoip2fast`
database and the operator's MaxMind-format files, when configured), base domains from the public suffix
list of `publicsuffixlist`, the sender name from `data/known_senders.json`. Reverse DNS asks the
configured resolvers with a short timeout; a failed lookup is recorded as such, not as "no hostname".
Results are cached in DynamoDB for a week; an item cached with other offline data (before the operator
added or updated a file, or before these fields existed) gets its offline fields from the current data
when read (microseconds) and keeps its reverse DNS answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from dataclasses import asdict, fields
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

import dns.reversename
from pydantic import BaseModel

from dmarcwatch import ipdata
from dmarcwatch.dns.dmarc import organizational_domain
from dmarcwatch.dns.resolver import DnsSession
from dmarcwatch.models import utcnow
from dmarcwatch.store import ipinfo as cache_store

CACHE_TTL = timedelta(days=7)
# A failed reverse lookup (SERVFAIL, timeout) is remembered this long, so a report whose sources sit in a
# blackholed reverse zone does not make every page wait for the same timeouts again (review M4).
FAILURE_TTL = timedelta(hours=1)
# Reverse lookups of one request stop after this long; sources not answered by then are shown without a
# hostname ("pending") and looked up again on the next read.
LOOKUP_DEADLINE_SECONDS = 2.5
_MAX_PARALLEL = 20


class IpInfo(BaseModel):
    ip: str
    hostname: str | None = None
    # "ok", "none" (no PTR), "error" (SERVFAIL/timeout: try again later), "private", "pending" (not
    # looked up within the request's deadline).
    hostname_status: str = "none"
    base_domain: str | None = None
    org: str | None = None
    network: str | None = None
    country: str | None = None
    known_sender: str | None = None
    # From the operator's ASN and city files; null without them.
    asn: int | None = None
    as_org: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    # `ipdata.version()` of the offline data these fields come from (None: an item cached before it).
    offline_version: str | None = None


@cache
def _senders() -> list[dict[str, Any]]:
    text = resources.files("dmarcwatch.data").joinpath("known_senders.json").read_text()
    senders: list[dict[str, Any]] = json.loads(text)["senders"]
    return senders


def base_domain(hostname: str | None) -> str | None:
    return organizational_domain(hostname) if hostname else None


def known_sender(base: str | None, org: str | None) -> str | None:
    for sender in _senders():
        if base and base in sender["ptr"]:
            return str(sender["name"])
    for sender in _senders():
        if org and any(org.upper().startswith(name) for name in sender["asn"]):
            return str(sender["name"])
    return None


def offline_info(ip: str) -> IpInfo:
    return IpInfo(ip=ip, **asdict(ipdata.lookup(ip)), offline_version=ipdata.version())


_OFFLINE_FIELDS = {field.name for field in fields(ipdata.IpData)}


def _current(info: IpInfo, version: str) -> IpInfo:
    """A cached item with its offline fields from the data in use now (its reverse DNS kept)."""
    if info.offline_version == version:
        return info
    fresh = offline_info(info.ip)
    return info.model_copy(
        update={
            **fresh.model_dump(include=_OFFLINE_FIELDS | {"offline_version"}),
            "known_sender": known_sender(info.base_domain, fresh.org),
        }
    )


async def _ptr(session: DnsSession, ip: str) -> tuple[str | None, str]:
    result = await session.query(dns.reversename.from_address(ip).to_text(), "PTR")
    if result.answered and result.rdata:
        return result.rdata[0].to_text().rstrip(".").lower(), "ok"
    return None, "error" if result.failed else "none"


async def _enrich(ips: list[str], deadline: float) -> list[IpInfo]:
    session = DnsSession(max_queries=len(ips) + 1, max_concurrency=_MAX_PARALLEL)

    async def one(ip: str) -> IpInfo:
        info = offline_info(ip)
        if ipaddress.ip_address(ip).is_private:
            hostname, status = None, "private"
        else:
            hostname, status = await _ptr(session, ip)
        base = base_domain(hostname)
        return info.model_copy(
            update={
                "hostname": hostname,
                "hostname_status": status,
                "base_domain": base,
                "known_sender": known_sender(base, info.org),
            }
        )

    tasks = [asyncio.ensure_future(one(ip)) for ip in ips]
    await asyncio.wait(tasks, timeout=deadline)
    found: list[IpInfo] = []
    for ip, task in zip(ips, tasks, strict=True):
        if task.done() and task.exception() is None:
            found.append(task.result())
        else:
            task.cancel()
            info = offline_info(ip)
            found.append(
                info.model_copy(
                    update={"hostname_status": "pending", "known_sender": known_sender(None, info.org)}
                )
            )
    return found


def lookup(ips: list[str], deadline: float = LOOKUP_DEADLINE_SECONDS) -> dict[str, IpInfo]:
    """Info for every IP: from the cache, else looked up (concurrently, within `deadline` seconds) and
    cached: answers for a week, failures for an hour, unfinished lookups not at all."""
    wanted = list(dict.fromkeys(ips))
    version = ipdata.version()
    stored = cache_store.get_many(wanted)
    cached = {ip: _current(IpInfo.model_validate(data), version) for ip, data in stored.items()}
    missing = [ip for ip in wanted if ip not in cached]
    if missing:
        fresh = asyncio.run(_enrich(missing, deadline))
        now = utcnow()
        for status, ttl in (
            ("ok", CACHE_TTL),
            ("none", CACHE_TTL),
            ("private", CACHE_TTL),
            ("error", FAILURE_TTL),
        ):
            entries = [(info.ip, info.model_dump()) for info in fresh if info.hostname_status == status]
            if entries:
                cache_store.put_many(entries, now + ttl)
        cached.update({info.ip: info for info in fresh})
    return cached
