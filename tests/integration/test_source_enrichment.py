"""Reverse DNS of report sources at read time is bounded (review M4): a deadline per request and failures
remembered for an hour, so a forged report whose sources sit in a blackholed reverse zone cannot make
every page of the victim's reports wait for the same timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from dmarcwatch.config import get_settings
from dmarcwatch.enrich import ipinfo
from dmarcwatch.store import ipinfo as cache_store

# Public addresses (documentation ranges count as private); queries go only to the loopback resolver.
SOURCES = [f"45.33.32.{i}" for i in range(1, 60)]


@pytest.fixture
def blackholed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A resolver that never answers (a UDP socket nobody reads), with a long per-query timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        monkeypatch.setenv("DMARCWATCH_DNS_NAMESERVERS", "127.0.0.1")
        monkeypatch.setenv("DMARCWATCH_DNS_PORT", str(silent.getsockname()[1]))
        monkeypatch.setenv("DMARCWATCH_DNS_TIMEOUT", "30")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def test_lookups_stop_at_the_deadline_and_answer_without_hostnames(blackholed: None) -> None:
    started = time.monotonic()
    found = ipinfo.lookup(SOURCES, deadline=0.5)
    assert time.monotonic() - started < 10  # not 30 s per query
    assert {info.hostname_status for info in found.values()} == {"pending"}
    assert all(info.hostname is None for info in found.values())
    # Unfinished lookups are not cached: the next read tries again.
    assert cache_store.get_many(SOURCES) == {}


def test_failed_lookups_are_remembered_for_an_hour(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test resolver (127.0.0.1 port 9) refuses at once: an error, not "no hostname".
    found = ipinfo.lookup(SOURCES[:3])
    assert {info.hostname_status for info in found.values()} == {"error"}
    cached = cache_store.get_many(SOURCES[:3])
    assert set(cached) == set(SOURCES[:3])

    def no_dns(*_: object) -> None:
        raise AssertionError("looked up again")

    monkeypatch.setattr(ipinfo, "_enrich", no_dns)
    assert {info.hostname_status for info in ipinfo.lookup(SOURCES[:3]).values()} == {"error"}
