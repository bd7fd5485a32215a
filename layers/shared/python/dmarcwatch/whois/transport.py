"""The httpx transport under whoisit's client: every RDAP request (the registry's, the registrar's
`related` link, each redirect) passes through it, so the rules hold wherever whoisit goes.

- https only: an http URL (or any other scheme) is refused before a connection is made;
- a budget per RDAP server: a request spends one of the host's requests of the minute, counted in
  DynamoDB so every worker shares it (`take`); none left -> `HostBudgetSpent` with the seconds to wait;
- our timeouts, not whoisit's fixed 10 s (the request's timeout extension is replaced);
- at most `MAX_BODY_BYTES` read (decoded), so a hostile `related` link cannot fill the memory;
- the Retry-After of a 429, which whoisit drops, is kept in the lookup's `Trace`.

whoisit wraps whatever the transport raises in its `QueryError` (`raise … from`), so the lookup reads
the reason back from `__cause__`.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from dmarcwatch.retry_after import parse_retry_after

MAX_BODY_BYTES = 2 * 1024 * 1024
# A Retry-After beyond this is read as this (a server's mistake must not park a domain for a month).
MAX_RETRY_AFTER = 24 * 3600


class RefusedEndpoint(Exception):
    """The URL is not https."""

    def __init__(self, url: str) -> None:
        super().__init__(f"refused {url}: RDAP is queried over https only")
        self.url = url


class HostBudgetSpent(Exception):
    """This minute's requests to the host are spent (shared by every worker)."""

    def __init__(self, host: str, retry_after: int) -> None:
        super().__init__(f"the request budget for {host} is spent for this minute")
        self.host = host
        self.retry_after = retry_after


class BodyTooLarge(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(f"the answer of {url} exceeds {MAX_BODY_BYTES} bytes")


@dataclass
class Exchange:
    url: str
    status: int | None = None
    error: str | None = None


@dataclass
class Trace:
    """What one lookup's requests met, in order (the transport writes it; the lookup reads it)."""

    exchanges: list[Exchange] = field(default_factory=list)
    # Seconds the server or our budget asked us to wait, and who asked.
    retry_after: int | None = None
    limited_host: str | None = None

    def answered(self) -> list[str]:
        return [e.url for e in self.exchanges if e.status == 200]


current_trace: ContextVar[Trace | None] = ContextVar("rdap_trace", default=None)

# Takes one request of `host`'s budget: None when granted, else the seconds until the next minute.
Budget = Callable[[str], Awaitable[int | None]]


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """A Retry-After header (seconds or an HTTP date) as whole seconds from `now`, at most MAX_RETRY_AFTER."""
    seconds = parse_retry_after(value, now)
    return None if seconds is None else min(int(seconds + 0.999), MAX_RETRY_AFTER)


async def _read_capped(response: httpx.Response, url: str) -> bytes:
    """The body, decoded from gzip/deflate here (with the same cap) so the client sees plain bytes."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        chunk = inflate.decompress(raw, MAX_BODY_BYTES + 1 - size) if encoding in ("gzip", "deflate") else raw
        size += len(chunk)
        if size > MAX_BODY_BYTES or inflate.unconsumed_tail:
            raise BodyTooLarge(url)
        chunks.append(chunk)
    return b"".join(chunks)


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, budget: Budget, timeout: httpx.Timeout) -> None:
        self._inner = inner
        self._budget = budget
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = current_trace.get() or Trace()
        url = str(request.url)
        exchange = Exchange(url)
        trace.exchanges.append(exchange)
        if request.url.scheme != "https":
            exchange.error = "refused: RDAP is queried over https only"
            raise RefusedEndpoint(url)
        host = request.url.host
        wait = await self._budget(host)
        if wait is not None:
            exchange.error = "budget spent"
            trace.retry_after, trace.limited_host = max(wait, trace.retry_after or 0), host
            raise HostBudgetSpent(host, wait)
        request.extensions = {**request.extensions, "timeout": self._timeout.as_dict()}
        try:
            response = await self._inner.handle_async_request(request)
            try:
                body = await _read_capped(response, url)
            finally:
                await response.aclose()
        except Exception as error:
            exchange.error = type(error).__name__
            raise
        exchange.status = response.status_code
        if response.status_code == 429:
            seconds = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            trace.retry_after, trace.limited_host = seconds, host
        # The body is decoded here: the client must not decode it again, nor expect the encoded length.
        dropped = ("content-encoding", "content-length")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in dropped]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()
