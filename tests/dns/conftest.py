"""The fixture DNS server (one knotd per test process on 127.0.0.1) and helpers to watch what a scan asks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dns.asyncresolver
import dns.name
import dns.rdatatype
import dns.resolver
import pytest
from pydantic import ValidationError

from dmarcwatch.config import Settings, get_settings
from dmarcwatch.dns.resolver import DnsSession, build_resolver
from tests.dns.knot import KnotServer, find_knotd

T = TypeVar("T")


@pytest.fixture(scope="session")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """Start knotd once per process and point the settings (so every default session) at it."""
    if find_knotd() is None:
        pytest.skip("knotd is not installed: install the Debian package `knot` (`make test` does)")
    server = KnotServer(Path(tmp_path_factory.mktemp("knot")))
    server.start()
    patch = pytest.MonkeyPatch()
    patch.setenv("DMARCWATCH_DNS_NAMESERVERS", "127.0.0.1")
    patch.setenv("DMARCWATCH_DNS_PORT", str(server.port))
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ValidationError as error:
        # Leave no unparsable variable behind for the other tests of this process.
        patch.undo()
        get_settings.cache_clear()
        server.stop()
        pytest.fail(f"settings cannot read DMARCWATCH_DNS_NAMESERVERS=127.0.0.1: {error}")
    assert settings.dns_nameservers == ["127.0.0.1"]
    assert settings.dns_port == server.port
    try:
        yield server
    finally:
        patch.undo()
        get_settings.cache_clear()
        server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP "server" on 127.0.0.1 that never answers: queries to it can only time out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Each test runs its scan in a fresh event loop, as the scanner Lambda does per invocation."""
    return asyncio.run(coroutine)


def silent_resolver(port: int, timeout: float = 0.3) -> dns.asyncresolver.Resolver:
    return build_resolver(Settings(dns_nameservers=["127.0.0.1"], dns_port=port, dns_timeout=timeout))


@dataclass
class Recorder:
    """Every question that reached the resolver (after the session's memo), and the peak in flight."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    # (start, end) of each query on the event loop's clock, to reconstruct the chains of dependent queries.
    spans: list[tuple[float, float]] = field(default_factory=list)

    def rounds(self) -> int:
        """How many sequential round trips the queries took: a query is in round n + 1 when a query of round
        n had finished before it started (with a fixed delay per query, that is the dependency depth)."""
        ordered = sorted(self.spans)
        wave: list[int] = []
        for index, (start, _) in enumerate(ordered):
            before = [wave[j] for j in range(index) if ordered[j][1] <= start]
            wave.append(1 + max(before, default=0))
        return max(wave, default=0)


def recording_session(delay: float = 0.0, **kwargs: Any) -> tuple[DnsSession, Recorder]:
    """A session on the fixture server whose resolver records calls and can add a round-trip delay.

    Call inside the event loop that runs the scan.
    """
    resolver = build_resolver()
    original = resolver.resolve
    recorder = Recorder()

    async def resolve(
        qname: dns.name.Name | str, rdtype: Any = dns.rdatatype.A, *args: Any, **kw: Any
    ) -> dns.resolver.Answer:
        recorder.calls.append(
            (str(qname).lower(), dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype)))
        )
        recorder.in_flight += 1
        recorder.max_in_flight = max(recorder.max_in_flight, recorder.in_flight)
        started = asyncio.get_running_loop().time()
        try:
            if delay:
                await asyncio.sleep(delay)
            return await original(qname, rdtype, *args, **kw)
        finally:
            recorder.in_flight -= 1
            recorder.spans.append((started, asyncio.get_running_loop().time()))

    resolver.resolve = resolve  # type: ignore[method-assign]
    return DnsSession(resolver, **kwargs), recorder
