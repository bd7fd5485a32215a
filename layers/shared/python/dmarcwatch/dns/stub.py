"""The scanner's stub resolver: dnspython's message layer over one UDP socket per name server, with the
retries, timeouts and TCP fallback a scan needs and nothing more.

`dns.asyncresolver` builds a resolution object per query, opens an asyncio transport per attempt, renders
the query through the full message renderer and parses every section of the answer; that made the scanner
CPU-bound at about 1 ms per query. Here:

- a query is a few bytes built by hand (header, question, an EDNS0 OPT record asking for 1232-octet UDP
  answers, RD and AD set), sent over a connected UDP socket per name server that every scan of a batch
  shares (the kernel delivers only that server's datagrams to it, and reports a closed port at once);
- an answer is matched to its query by id (random among the queries in flight) and by its question, read
  from the header without parsing the message; NXDOMAIN and NODATA are read from the header alone; an
  answer whose records all answer the question directly (the usual case) is read record by record with
  dnspython's rdata parser (`dns.rdata.from_wire`); any other (CNAME chains) is parsed by
  `dns.message.from_wire` up to the end of its answer section (no check uses the authority or additional
  records) and its chain followed as dnspython's resolver follows it;
- no answer within `timeout`: the same datagram (same id, so a late answer to the first is still taken)
  goes to the next server, or again to the only one, until `lifetime` is spent;
- SERVFAIL, REFUSED and the other error rcodes, a malformed answer or a refused port take that server out
  for this question and move to the next one; when none is left the result says why (SERVFAIL when a
  server said so, timeout when all timed out, error otherwise);
- a truncated answer (TC) is asked again over TCP (`dns.asyncquery.tcp`) within what is left of the
  lifetime;
- with an `AnswerCache` (`dns.cache`; `build_resolver` gives the scanner's resolver one), an answer or a
  negative answer is kept for its TTL and a question already in flight is not sent again: its askers
  share the one query (`resolve` records on the caller's `Tally` which of the two it did instead of
  sending). Without one every question is sent.

Every datagram and TCP query leaves through `_send` and `_tcp`, which count them (`datagrams_sent`,
`tcp_queries`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import re
import socket
import struct
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dmarcwatch.dns.answers import DnsResult, Outcome
from dmarcwatch.dns.cache import AnswerCache, Tally, negative_ttl, rrsets_ttl, soa_ttl

QUERY_FLAGS = dns.flags.RD | dns.flags.AD
UDP_PAYLOAD = 1232
RECEIVE_BUFFER = 1 << 21
# Queries in flight at once over one resolver (all the scans of a batch): a burst of hundreds of datagrams
# overflows receive buffers on the way (the resolver's, a proxy's), and a lost datagram costs a timeout.
MAX_IN_FLIGHT = 128
_HEADER = struct.Struct("!HHHHHH")
_TYPE_CLASS = struct.Struct("!HH")
_QR = 0x8000
_OPCODE = 0x7800
_TC = int(dns.flags.TC)
_AD = int(dns.flags.AD)
_MAX_CHAIN = 16
# Error rcodes whose answers may come without the question (dnspython accepts those too).
_BARE_ERRORS = frozenset({dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED})
_ids = random.SystemRandom()


class _Failure(Exception):
    """One server's failure for one question: (what, outcome); the server is not asked again."""

    def __init__(self, what: str, outcome: Outcome = Outcome.ERROR) -> None:
        super().__init__(what)
        self.what = what
        self.outcome = outcome


class _Truncated(Exception):
    """The UDP answer has the TC bit: ask again over TCP."""


_PLAIN_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)+")
_RR = struct.Struct("!HHIH")
_TO_QUESTION = b"\xc0\x0c"


def name_wire(name: str) -> bytes:
    """The uncompressed wire form of an absolute name given as lower-case text with its final dot.
    Names of letters, digits, '-' and '_' (nearly all a scan asks) are encoded here; others go through
    dnspython's parser (escapes, IDNA). Raises `dns.exception.DNSException` for an invalid name."""
    if _PLAIN_NAME.fullmatch(name) and len(name) <= 254:
        return b"".join(bytes((len(label),)) + label for label in name.encode().split(b"."))
    wire = dns.name.from_text(name).to_wire()
    assert wire is not None  # without a file to write to, to_wire returns the bytes
    return wire


def question_key(qname: str, rdtype: dns.rdatatype.RdataType) -> bytes:
    """The question (qname as `name_wire` takes it, rdtype, class IN) in lower-cased wire form: what the
    stub puts in a query, and the key of its answer cache."""
    return (name_wire(qname) + _TYPE_CLASS.pack(rdtype, dns.rdataclass.IN)).lower()


def _plain_answer(
    wire: bytes, position: int, count: int, rdtype: dns.rdatatype.RdataType
) -> tuple[tuple[dns.rdata.Rdata, ...], int] | None:
    """The records of an answer section starting at `position` when each is of `rdtype`, class IN and
    owned by the question's name (a compression pointer to it), duplicates dropped, and their smallest
    TTL; None for any other answer (an alias, another owner), which `dns.message.from_wire` then reads."""
    found: list[dns.rdata.Rdata] = []
    seen: set[bytes] = set()
    smallest = 0xFFFFFFFF
    for _ in range(count):
        if wire[position : position + 2] != _TO_QUESTION or position + 2 + _RR.size > len(wire):
            return None
        kind, rdclass, ttl, length = _RR.unpack_from(wire, position + 2)
        start = position + 2 + _RR.size
        if kind != rdtype or rdclass != dns.rdataclass.IN or start + length > len(wire):
            return None
        smallest = min(smallest, ttl)
        raw = wire[start : start + length]
        if raw not in seen:
            seen.add(raw)
            found.append(dns.rdata.from_wire(dns.rdataclass.IN, rdtype, wire, start, length))
        position = start + length
    return tuple(found), smallest


def _opt_record(payload: int) -> bytes:
    """EDNS0 OPT pseudo-record: root owner, type 41, class = UDP payload size, version 0, no flags."""
    return b"\x00" + struct.pack("!HHIH", dns.rdatatype.OPT, payload, 0, 0)


def _is_answer(wire: bytes, question: bytes) -> bool:
    """A response (QR, standard query) whose question is ours; error answers may omit the question."""
    flags = wire[2] << 8 | wire[3]
    if not flags & _QR or flags & _OPCODE:
        return False
    count = wire[4] << 8 | wire[5]
    if count == 0:
        return (flags & 0xF) in _BARE_ERRORS
    # Label lengths never exceed 63, so lower-casing the wire form only folds the names' letters.
    return count == 1 and wire[12 : 12 + len(question)].lower() == question


def _follow(
    answer: Iterable[dns.rrset.RRset], qname: dns.name.Name, rdtype: int
) -> tuple[dns.rrset.RRset | None, bool]:
    """The RRset answering (qname, rdtype), following CNAMEs; and whether qname is an alias."""
    rrsets = list(answer)
    name, aliased = qname, False
    for _ in range(_MAX_CHAIN):
        alias = None
        for rrset in rrsets:
            if rrset.rdclass != dns.rdataclass.IN or rrset.name != name:
                continue
            if rrset.rdtype == rdtype:
                return rrset, aliased
            if rrset.rdtype == dns.rdatatype.CNAME:
                alias = rrset[0].target
        if alias is None:
            return None, aliased
        name, aliased = alias, True
    raise _Failure(f"CNAME chain longer than {_MAX_CHAIN}")


@dataclass(slots=True)
class _Question:
    # Absolute, lower case, with the final dot.
    qname: str
    rdtype: dns.rdatatype.RdataType
    name: str
    rdtype_text: str
    # Wire form of the question section (name, type, class), lower-cased.
    wire: bytes
    server: str = ""
    asked: set[str] = field(default_factory=set)
    reply: asyncio.Future[bytes | OSError | None] | None = None
    # How long the answer may be kept (`dns.cache`), once read; None: not at all.
    ttl: int | None = None

    def result(
        self,
        outcome: Outcome,
        *,
        rdata: tuple[dns.rdata.Rdata, ...] = (),
        detail: str = "",
        authenticated: bool = False,
        aliased: bool = False,
    ) -> DnsResult:
        return DnsResult(self.name, self.rdtype_text, outcome, rdata, detail, authenticated, aliased)


@dataclass(slots=True)
class _Channel:
    server: str
    sock: socket.socket
    loop: asyncio.AbstractEventLoop


def _close_all(sockets: set[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
    sockets.clear()


class StubResolver:
    """Plain DNS to `nameservers` (IP addresses) at `port`. Share one among the scans of a batch; it opens
    its sockets in the running event loop on first use. `close()` releases them (they are also closed
    when the resolver is collected) and empties `cache`, which belongs to this resolver alone."""

    def __init__(
        self,
        nameservers: Sequence[str],
        port: int = 53,
        *,
        timeout: float = 1.0,
        lifetime: float = 2.0,
        flags: int = QUERY_FLAGS,
        payload: int = UDP_PAYLOAD,
        max_in_flight: int = MAX_IN_FLIGHT,
        cache: AnswerCache | None = None,
    ) -> None:
        if not nameservers:
            raise ValueError("a stub resolver needs at least one name server")
        self.nameservers = [str(ipaddress.ip_address(server)) for server in nameservers]
        self.port = port
        self.timeout = timeout
        self.lifetime = lifetime
        self.flags = flags
        self.payload = payload
        self.max_in_flight = max_in_flight
        self.cache = cache
        self.datagrams_sent = 0
        self.tcp_queries = 0
        # Questions answered by a query already in flight for another asker (with a cache only).
        self.queries_joined = 0
        self._flights: tuple[asyncio.AbstractEventLoop, dict[bytes, asyncio.Task[DnsResult]]] | None = None
        self._opt = _opt_record(payload)
        self._pending: dict[int, _Question] = {}
        self._channels: dict[str, _Channel] = {}
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._sockets: set[socket.socket] = set()
        self._closed = False
        weakref.finalize(self, _close_all, self._sockets)

    async def resolve(
        self,
        qname: str | dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        lifetime: float | None = None,
        tally: Tally | None = None,
    ) -> DnsResult:
        """Ask (qname, rdtype), class IN, within `lifetime` (default: the resolver's) once it is sent; never
        raises for DNS trouble, the outcome says it. `qname`: absolute, as text (lower case, final dot) or
        a dnspython name. With a cache, a kept answer or a query in flight for the same question answers
        instead (each recorded on `tally`); a joined query keeps to its first asker's lifetime."""
        text = qname.to_text().lower() if isinstance(qname, dns.name.Name) else qname
        key = question_key(text, rdtype)
        if self.cache is None:
            return await self._query(text, rdtype, key, lifetime)
        cached = self.cache.get(key)
        if cached is not None:
            if tally is not None:
                tally.cached += 1
            return cached
        loop = asyncio.get_running_loop()
        flights = self._flights_in(loop)
        flight = flights.get(key)
        if flight is None:
            flight = flights[key] = loop.create_task(self._query(text, rdtype, key, lifetime))
            flight.add_done_callback(partial(_landed, flights, key))
        else:
            self.queries_joined += 1
            if tally is not None:
                tally.joined += 1
        # Shielded: one asker being cancelled must not cancel the query the others wait for.
        return await asyncio.shield(flight)

    def cached(self, key: bytes) -> DnsResult | None:
        """The kept answer to the question `key` (`question_key`), or None; never sends anything."""
        return None if self.cache is None else self.cache.get(key)

    def _flights_in(self, loop: asyncio.AbstractEventLoop) -> dict[bytes, asyncio.Task[DnsResult]]:
        """The questions in flight by key, one table per event loop."""
        if self._flights is None or self._flights[0] is not loop:
            self._flights = (loop, {})
        return self._flights[1]

    async def _query(
        self, text: str, rdtype: dns.rdatatype.RdataType, key: bytes, lifetime: float | None
    ) -> DnsResult:
        loop = asyncio.get_running_loop()
        question = _Question(text, rdtype, text[:-1], dns.rdatatype.to_text(rdtype), key)
        async with self._in_flight(loop):
            # The lifetime runs from when the query may leave, not while it waits for a free slot.
            deadline = loop.time() + (self.lifetime if lifetime is None else lifetime)
            qid = self._new_id()
            packet = _HEADER.pack(qid, self.flags, 1, 0, 0, 1) + key + self._opt
            self._pending[qid] = question
            try:
                result = await self._ask(question, qid, packet, deadline)
            finally:
                del self._pending[qid]
        if self.cache is not None and not self._closed:
            self.cache.put(key, result, question.ttl)
        return result

    def _in_flight(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        """The gate of the queries in flight, one per event loop."""
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.max_in_flight))
        return self._gate[1]

    async def _ask(self, question: _Question, qid: int, packet: bytes, deadline: float) -> DnsResult:
        loop = asyncio.get_running_loop()
        servers = list(self.nameservers)
        failures: list[tuple[str, _Failure]] = []
        turn = 0
        while servers and (remaining := deadline - loop.time()) > 0:
            server = servers[turn % len(servers)]
            turn += 1
            try:
                reply = await self._exchange(question, server, packet, min(self.timeout, remaining))
                if reply is None:
                    failures.append((server, _Failure(f"no answer in {self.timeout:g} s", Outcome.TIMEOUT)))
                    continue
                return self._read(question, reply)
            except _Truncated:
                try:
                    return await self._over_tcp(question, qid, server, deadline - loop.time())
                except _Failure as failure:
                    failures.append((server, failure))
            except _Failure as failure:
                failures.append((server, failure))
            servers.remove(server)
            turn -= 1
        return _failed(question, failures)

    async def _exchange(self, question: _Question, server: str, packet: bytes, wait: float) -> bytes | None:
        """Send the datagram to `server` and wait up to `wait` s: the answer, or None on timeout."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[bytes | OSError | None] = loop.create_future()
        question.reply, question.server = reply, server
        question.asked.add(server)
        try:
            self._send(self._channel(server, loop), packet)
        except BlockingIOError:
            pass  # the send buffer is full: as if the datagram were lost
        except OSError as error:
            raise _Failure(f"{type(error).__name__}: {error}") from error
        timer = loop.call_later(wait, _expire, reply)
        try:
            answer = await reply
        finally:
            timer.cancel()
        if isinstance(answer, OSError):
            raise _Failure(f"{type(answer).__name__}: {answer}")
        return answer

    def _send(self, channel: _Channel, packet: bytes) -> None:
        channel.sock.send(packet)
        self.datagrams_sent += 1

    def _read(self, question: _Question, wire: bytes) -> DnsResult:
        """The result of a UDP answer; raises _Truncated or a _Failure of this server."""
        _, flags, _, answers, authorities, _ = _HEADER.unpack_from(wire)
        if flags & _TC:
            raise _Truncated
        rcode = flags & 0xF
        authenticated = bool(flags & _AD)
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise _rcode_failure(rcode)
        start = _HEADER.size + len(question.wire)
        if answers == 0:
            question.ttl = negative_ttl(wire, start, 0, authorities)
            outcome = Outcome.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else Outcome.NODATA
            return question.result(outcome, authenticated=authenticated)
        try:
            if rcode == dns.rcode.NOERROR:
                plain = _plain_answer(wire, start, answers, question.rdtype)
                if plain is not None:
                    rdata, question.ttl = plain
                    return question.result(Outcome.ANSWER, rdata=rdata, authenticated=authenticated)
            # Authority and additional sections cleared: the answer section is all a check reads (the
            # negative TTL of an alias chain's end is read from the wire).
            message = dns.message.from_wire(wire[:8] + b"\x00\x00\x00\x00" + wire[12:], ignore_trailing=True)
        except (dns.exception.DNSException, ValueError) as error:
            raise _Failure(f"malformed answer: {type(error).__name__}: {error}") from error
        return _result(
            question,
            rcode,
            authenticated,
            message.answer,
            lambda: negative_ttl(wire, start, answers, authorities),
        )

    async def _over_tcp(self, question: _Question, qid: int, server: str, remaining: float) -> DnsResult:
        if remaining <= 0:
            raise _Failure("truncated answer and no time left for TCP", Outcome.TIMEOUT)
        query = dns.message.make_query(
            question.qname, question.rdtype, use_edns=0, payload=self.payload, flags=self.flags
        )
        query.id = qid
        try:
            async with asyncio.timeout(remaining):
                response = await self._tcp(query, server)
        except (TimeoutError, dns.exception.Timeout) as error:
            raise _Failure(f"TCP: no answer in {remaining:.2g} s", Outcome.TIMEOUT) from error
        except (dns.exception.DNSException, OSError, EOFError) as error:
            raise _Failure(f"TCP: {type(error).__name__}: {error}") from error
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise _rcode_failure(rcode)
        return _result(
            question,
            rcode,
            bool(response.flags & dns.flags.AD),
            response.answer,
            lambda: soa_ttl(response.authority),
        )

    async def _tcp(self, query: dns.message.Message, server: str) -> dns.message.Message:
        self.tcp_queries += 1
        return await dns.asyncquery.tcp(query, server, port=self.port)

    # --- sockets -------------------------------------------------------------------------------------------

    def _new_id(self) -> int:
        if len(self._pending) > 60_000:
            raise RuntimeError("too many queries in flight on one stub resolver")
        while (qid := _ids.getrandbits(16)) in self._pending:
            pass
        return qid

    def _channel(self, server: str, loop: asyncio.AbstractEventLoop) -> _Channel:
        if self._closed:
            raise OSError("the stub resolver is closed")
        channel = self._channels.get(server)
        if channel is not None and channel.loop is loop:
            return channel
        if channel is not None:
            self._close_channel(channel)
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # Every scan of a batch reads its answers here, in bursts: room for a few thousand datagrams
            # (the kernel caps this at net.core.rmem_max).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.connect((server, self.port))
        except OSError:
            sock.close()
            raise
        channel = _Channel(server, sock, loop)
        self._sockets.add(sock)
        self._channels[server] = channel
        loop.add_reader(sock.fileno(), self._readable, channel)
        return channel

    def _readable(self, channel: _Channel) -> None:
        """Hand every datagram waiting on the channel to the question it answers; drop the others."""
        while True:
            try:
                wire = channel.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as error:  # e.g. ECONNREFUSED: the server's port is closed
                self._fail_server(channel.server, error)
                return
            if len(wire) < _HEADER.size:
                continue
            question = self._pending.get(wire[0] << 8 | wire[1])
            if question is None or channel.server not in question.asked:
                continue
            if question.reply is not None and not question.reply.done() and _is_answer(wire, question.wire):
                question.reply.set_result(wire)

    def _fail_server(self, server: str, error: OSError) -> None:
        for question in self._pending.values():
            if question.server == server and question.reply is not None and not question.reply.done():
                question.reply.set_result(error)

    def _close_channel(self, channel: _Channel) -> None:
        with contextlib.suppress(RuntimeError, ValueError):  # the loop is closed already
            channel.loop.remove_reader(channel.sock.fileno())
        channel.sock.close()
        self._sockets.discard(channel.sock)
        if self._channels.get(channel.server) is channel:
            del self._channels[channel.server]

    def close(self) -> None:
        """Close the sockets and empty the cache; a query asked afterwards fails (a late retry cannot reopen
        one)."""
        self._closed = True
        if self.cache is not None:
            self.cache.clear()
        for channel in list(self._channels.values()):
            self._close_channel(channel)


def _expire(reply: asyncio.Future[bytes | OSError | None]) -> None:
    if not reply.done():
        reply.set_result(None)


def _rcode_failure(rcode: int) -> _Failure:
    outcome = Outcome.SERVFAIL if rcode == dns.rcode.SERVFAIL else Outcome.ERROR
    return _Failure(dns.rcode.to_text(dns.rcode.Rcode.make(rcode)), outcome)


def _result(
    question: _Question,
    rcode: int,
    authenticated: bool,
    answer: Sequence[dns.rrset.RRset],
    negative: Callable[[], int | None],
) -> DnsResult:
    """The result of a parsed answer section; `negative()` gives the negative TTL if it is one."""
    rrset, aliased = _follow(answer, dns.name.from_text(question.qname), question.rdtype)
    chain = rrsets_ttl(answer)
    if rcode == dns.rcode.NXDOMAIN or rrset is None:
        kept = negative()
        question.ttl = None if kept is None else min(kept, chain if chain is not None else kept)
        outcome = Outcome.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else Outcome.NODATA
        return question.result(outcome, authenticated=authenticated, aliased=aliased)
    question.ttl = chain
    return question.result(Outcome.ANSWER, rdata=tuple(rrset), authenticated=authenticated, aliased=aliased)


def _landed(flights: dict[bytes, asyncio.Task[DnsResult]], key: bytes, task: asyncio.Task[DnsResult]) -> None:
    """A query in flight is done: later askers read the cache (or ask again, if it was not kept)."""
    if flights.get(key) is task:
        del flights[key]


def _failed(question: _Question, failures: list[tuple[str, _Failure]]) -> DnsResult:
    """Every server failed (or the lifetime ran out): SERVFAIL if one said so, timeout if all timed out."""
    detail = "; ".join(f"{server}: {failure.what}" for server, failure in failures) or "no time to ask"
    outcomes = {failure.outcome for _, failure in failures}
    if Outcome.SERVFAIL in outcomes:
        return question.result(Outcome.SERVFAIL, detail=detail)
    if outcomes <= {Outcome.TIMEOUT}:
        return question.result(Outcome.TIMEOUT, detail=detail)
    return question.result(Outcome.ERROR, detail=detail)
