"""A UDP relay on 127.0.0.1 between the stub resolver and knotd, for the tests of the query path.

Run inside the test's event loop: every datagram a client sends is recorded and handed to `decide`, which
says what the relay does with it: forward it to knotd (the answer goes back to the client), drop it, or
answer itself with the bytes it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.message
import dns.rcode

Action = Literal["forward", "drop"] | bytes


@dataclass
class Received:
    """One datagram from a client: its source port and the query it carried."""

    port: int
    query: dns.message.Message


def always_forward(_query: dns.message.Message, _index: int) -> Action:
    return "forward"


def drop_first(count: int) -> Callable[[dns.message.Message, int], Action]:
    """Lose the first `count` datagrams, forward the rest."""
    return lambda _query, index: "drop" if index < count else "forward"


def answer_with(rcode: dns.rcode.Rcode) -> Callable[[dns.message.Message, int], Action]:
    """Answer every query itself with an empty response of `rcode`."""

    def decide(query: dns.message.Message, _index: int) -> Action:
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        return response.to_wire()

    return decide


@dataclass
class Relay:
    upstream: int
    decide: Callable[[dns.message.Message, int], Action] = always_forward
    # Where the relay listens (another loopback address can stand for a second server).
    host: str = "127.0.0.1"
    port: int = 0
    # Seconds each answer is held back before it goes to the client.
    hold: float = 0.0
    received: list[Received] = field(default_factory=list)
    # The most queries forwarded and not yet answered to the client, at any moment.
    max_outstanding: int = 0
    _outstanding: int = 0
    _front: asyncio.DatagramTransport | None = None
    _back: asyncio.DatagramTransport | None = None
    # query id -> the client address waiting for knotd's answer
    _clients: dict[int, Any] = field(default_factory=dict)

    async def __aenter__(self) -> Relay:
        loop = asyncio.get_running_loop()
        relay = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                relay._from_client(data, addr)

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                relay._from_server(data)

        self._front, _ = await loop.create_datagram_endpoint(Front, local_addr=(self.host, self.port))
        self._back, _ = await loop.create_datagram_endpoint(Back, remote_addr=("127.0.0.1", self.upstream))
        self.port = self._front.get_extra_info("sockname")[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for transport in (self._front, self._back):
            if transport is not None:
                transport.close()

    def _from_client(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        index = len(self.received)
        self.received.append(Received(addr[1], query))
        action = self.decide(query, index)
        assert self._front is not None
        assert self._back is not None
        if action == "forward":
            self._clients[query.id] = addr
            self._outstanding += 1
            self.max_outstanding = max(self.max_outstanding, self._outstanding)
            self._back.sendto(data)
        elif isinstance(action, bytes):
            self._front.sendto(action, addr)

    def _from_server(self, data: bytes) -> None:
        addr = self._clients.pop(int.from_bytes(data[:2], "big"), None)
        if addr is not None:
            asyncio.get_running_loop().call_later(self.hold, self._answer, data, addr)

    def _answer(self, data: bytes, addr: Any) -> None:
        self._outstanding -= 1
        if self._front is not None:
            self._front.sendto(data, addr)
