"""IANA's RDAP bootstrap (which RDAP service answers for which TLD), loaded into whoisit from a string.

Where it comes from, in order: the copy this process loaded (while younger than
`rdap_bootstrap_max_age_days`), the copy in the raw bucket (`store.rdap_bootstrap`, same age rule), IANA
itself (`rdap_bootstrap_url`, https only), which refreshes the bucket's copy. When IANA cannot be reached
a stale copy is used; with no copy at all every lookup fails with the reason (`BootstrapUnavailable`),
which is what the local stack without internet shows. A failed fetch is not tried again by this process
for `RETRY_FETCH_AFTER`, so a container does not ask IANA for every batch while it is down.

whoisit wants all five IANA registries (asn, dns, ipv4, ipv6, object); only domains are looked up here,
so the other four are given as empty placeholders. Only https services are kept (whoisit's
`allow_insecure=False`); `http_only_services` tells a TLD whose registry offers only http apart from one
that has no RDAP at all.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import whoisit

from dmarcwatch.config import get_settings
from dmarcwatch.observability import logger
from dmarcwatch.store import rdap_bootstrap as bootstrap_store
from dmarcwatch.store.rdap_bootstrap import CachedBootstrap

RETRY_FETCH_AFTER = timedelta(minutes=30)
_PLACEHOLDER: dict[str, Any] = {"services": [[[], []]]}


class BootstrapUnavailable(Exception):
    """No bootstrap data could be had: no copy stored and IANA not reachable."""


@dataclass
class _Loaded:
    cached: CachedBootstrap
    failed_fetch_at: datetime | None = None


_loaded: _Loaded | None = None
# The last failed fetch while no copy was to be had, and why: not tried again for RETRY_FETCH_AFTER.
_failed: tuple[datetime, str] | None = None


def ssl_context() -> ssl.SSLContext:
    """The system's CAs, plus the operator's bundle (`rdap_ca_bundle`) when one is set."""
    context = ssl.create_default_context()
    bundle = get_settings().rdap_ca_bundle
    if bundle:
        context.load_verify_locations(cafile=bundle)
    return context


def _fetch(now: datetime) -> CachedBootstrap:
    url = get_settings().rdap_bootstrap_url
    if httpx.URL(url).scheme != "https":
        raise BootstrapUnavailable(f"the RDAP bootstrap URL must be https: {url}")
    timeout = get_settings().rdap_timeout_seconds
    try:
        with httpx.Client(verify=ssl_context(), timeout=timeout, follow_redirects=False) as client:
            response = client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError, OSError) as error:
        raise BootstrapUnavailable(f"the RDAP bootstrap could not be fetched from {url}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise BootstrapUnavailable(f"{url} did not answer an RDAP bootstrap document")
    return CachedBootstrap(now, url, document)


def _load_into_whoisit(cached: CachedBootstrap) -> None:
    text = json.dumps(
        {
            "timestamp": int(cached.fetched_at.timestamp()),
            "dns": cached.dns,
            "asn": _PLACEHOLDER,
            "ipv4": _PLACEHOLDER,
            "ipv6": _PLACEHOLDER,
            "object": _PLACEHOLDER,
        }
    )
    whoisit.clear_bootstrapping()
    # IANA's registry lacks some ccTLDs that do run RDAP (.de, .io, …): whoisit's override list has them.
    whoisit.load_bootstrap_data(text, overrides=True, allow_insecure=False)


def _fresh(cached: CachedBootstrap | None, now: datetime) -> bool:
    max_age = timedelta(days=get_settings().rdap_bootstrap_max_age_days)
    return cached is not None and now - cached.fetched_at < max_age


def _use(cached: CachedBootstrap, failed_fetch_at: datetime | None = None) -> CachedBootstrap:
    global _loaded
    if _loaded is None or _loaded.cached is not cached:
        _load_into_whoisit(cached)
    _loaded = _Loaded(cached, failed_fetch_at)
    return cached


def ensure_loaded(now: datetime) -> CachedBootstrap:
    """Make whoisit's bootstrap current (see the module docstring); the data in use."""
    if _loaded is not None and _fresh(_loaded.cached, now):
        return _loaded.cached
    if _loaded is not None and _loaded.failed_fetch_at and now - _loaded.failed_fetch_at < RETRY_FETCH_AFTER:
        return _loaded.cached
    global _failed
    stored = bootstrap_store.get()
    if stored is not None and _fresh(stored, now):
        return _use(stored)
    if stored is None and _loaded is None and _failed is not None and now - _failed[0] < RETRY_FETCH_AFTER:
        raise BootstrapUnavailable(_failed[1])
    try:
        fetched = _fetch(now)
    except BootstrapUnavailable as error:
        stale = stored or (_loaded.cached if _loaded else None)
        if stale is None:
            _failed = (now, str(error))
            raise
        logger.warning(
            "using a stale RDAP bootstrap", extra={"reason": str(error), "fetched_at": str(stale.fetched_at)}
        )
        return _use(stale, failed_fetch_at=now)
    bootstrap_store.put(fetched)
    return _use(fetched)


def forget() -> None:
    """Drop what this process loaded (tests; a new bucket copy is then read on the next lookup)."""
    global _loaded, _failed
    _loaded, _failed = None, None
    whoisit.clear_bootstrapping()


def _tld_candidates(domain: str) -> list[str]:
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[-2:]), labels[-1]] if len(labels) > 2 else [labels[-1]]


def http_only_services(cached: CachedBootstrap, domain: str) -> list[str]:
    """The non-https RDAP URLs the bootstrap names for the domain's TLD (when it names no https one)."""
    for tld in _tld_candidates(domain):
        for entry in cached.dns.get("services", []):
            if isinstance(entry, list) and len(entry) == 2 and tld in [str(s).lower() for s in entry[0]]:
                urls = [str(url) for url in entry[1]]
                if not any(url.lower().startswith("https://") for url in urls):
                    return urls
    return []
