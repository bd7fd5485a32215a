"""The stub resolver's answer cache: the scans of one batch ask provider infrastructure once.

The scans of a scanner invocation share one `StubResolver`, and much of what they ask belongs to the
providers they share rather than to the scanned domains: the MX hosts' addresses and PTR names, SPF include
targets, the DMARC tree walk's public-suffix names. An `AnswerCache` given to the resolver keeps those
answers for the rest of the batch:

- answers (ANSWER) for the smallest TTL of the records read, negative answers (NXDOMAIN, NODATA) for the
  SOA's negative TTL (RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM field; a negative
  answer without an SOA is not kept), never longer than `max_ttl`, and a TTL with its top bit set counts
  as zero (RFC 2181 §8);
- failures (SERVFAIL, timeouts, malformed answers, refusals) are never kept: the next asker tries again;
- keyed by the question's wire form (name lower-cased, type, class): one entry per (name, type, class);
- at most `max_entries`, the oldest entry making room for a new one;
- owned by one resolver, which is built per invocation and clears it when closed: nothing outlives the
  batch or crosses into another tenant's invocation.

Why this is safe for change detection: a scan compares what it reads with the previous scan, hours earlier.
An answer taken from the cache is at most as old as the batch (seconds, within the Lambda's timeout) and
never older than its TTL allows, exactly what a caching recursive resolver would serve; a record changed
within those seconds is reported by the next scan.
"""

from __future__ import annotations

import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.SOA import SOA

from dmarcwatch.dns.answers import DnsResult, Outcome

MAX_ENTRIES = 10_000
# Five minutes: longer than any scanner invocation, short enough for a resolver kept by a test or a CLI.
MAX_TTL = 300.0
_KEPT = frozenset({Outcome.ANSWER, Outcome.NXDOMAIN, Outcome.NODATA})
_RR = struct.Struct("!HHIH")
_MINIMUM = struct.Struct("!I")
_TTL_MAX = 0x7FFFFFFF


@dataclass(slots=True)
class Tally:
    """What a resolver did for one caller's questions besides sending them: answered from its cache, or
    joined a query in flight for another caller (`DnsSession` counts only sent questions against its
    budget)."""

    cached: int = 0
    joined: int = 0

    @property
    def shared(self) -> int:
        return self.cached + self.joined


class AnswerCache:
    """Positive and negative answers by question until their TTL runs out (see the module docstring).
    `clock`: seconds, monotonic (tests pass their own)."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_ttl: float = MAX_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("an answer cache needs room for at least one entry")
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, DnsResult]] = OrderedDict()
        self.hits = 0
        self.stored = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> DnsResult | None:
        """The answer kept for the question `key` (its wire form), or None (never kept, or expired)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: bytes, result: DnsResult, ttl: int | None) -> None:
        """Keep `result` for `ttl` seconds (capped); failures, a missing TTL and TTL 0 are not kept."""
        if ttl is None or result.outcome not in _KEPT:
            return
        seconds = min(float(ttl if ttl <= _TTL_MAX else 0), self.max_ttl)
        if seconds <= 0:
            return
        if key in self._entries:
            del self._entries[key]
        elif len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)
        self._entries[key] = (self._clock() + seconds, result)
        self.stored += 1

    def clear(self) -> None:
        self._entries.clear()


# --- TTLs of answers ---------------------------------------------------------------------------------------


def _skip_name(wire: bytes, position: int) -> int:
    """The position after the (possibly compressed) name at `position`."""
    while True:
        length = wire[position]
        if length >= 0xC0:
            return position + 2
        if length == 0:
            return position + 1
        position += length + 1


def negative_ttl(wire: bytes, position: int, answers: int, authorities: int) -> int | None:
    """RFC 2308's negative TTL of a DNS message: min(TTL, MINIMUM) of the SOA in its authority section,
    read from the wire at `position` (the start of the answer section) past `answers` records; None
    without an SOA or if the sections are cut short."""
    try:
        for _ in range(answers):
            position = _skip_name(wire, position)
            position += _RR.size + _RR.unpack_from(wire, position)[3]
        for _ in range(authorities):
            position = _skip_name(wire, position)
            kind, _, ttl, length = _RR.unpack_from(wire, position)
            position += _RR.size
            if position + length > len(wire):
                return None
            if kind == dns.rdatatype.SOA and length >= 20:
                return min(int(ttl), int(_MINIMUM.unpack_from(wire, position + length - 4)[0]))
            position += length
    except (IndexError, struct.error):
        return None
    return None


def rrsets_ttl(rrsets: Iterable[dns.rrset.RRset]) -> int | None:
    """The smallest TTL of `rrsets` (an answer and its alias chain), None if there are none."""
    return min((rrset.ttl for rrset in rrsets), default=None)


def soa_ttl(authority: Iterable[dns.rrset.RRset]) -> int | None:
    """RFC 2308's negative TTL from a parsed authority section, None without an SOA."""
    for rrset in authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset) and isinstance(rrset[0], SOA):
            minimum: int = rrset[0].minimum
            return min(int(rrset.ttl), minimum)
    return None
