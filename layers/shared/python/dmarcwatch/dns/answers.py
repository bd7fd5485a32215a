"""What one DNS question got: the `DnsResult` every lookup of a scan returns.

A scan concludes things like "this domain has no SPF record" from the answers, and a resolver failure must
never look like an absent record, so `outcome` says exactly what happened: an answer, NXDOMAIN, NODATA (the
name exists, the type does not), SERVFAIL, a timeout, the scan's query budget being spent, or another
error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import dns.rdata
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA

from dmarcwatch.dns.txt import join_txt


class Outcome(StrEnum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    SERVFAIL = "servfail"
    TIMEOUT = "timeout"
    BUDGET_EXHAUSTED = "budget_exhausted"
    ERROR = "error"


_VOID = frozenset({Outcome.NXDOMAIN, Outcome.NODATA})


@dataclass(frozen=True, slots=True)
class DnsResult:
    """What one question got. `name` is lower-case without the final dot; `rdtype` is the type mnemonic."""

    name: str
    rdtype: str
    outcome: Outcome
    rdata: tuple[dns.rdata.Rdata, ...] = ()
    detail: str = ""
    # The response's AD flag: the (validating) resolver vouches for the answer with DNSSEC.
    authenticated: bool = False
    # The name is an alias (CNAME): the outcome is its target's, so an NXDOMAIN says nothing about the
    # names below it.
    aliased: bool = False

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWER

    @property
    def void(self) -> bool:
        """The DNS said authoritatively that there is nothing (RFC 7208 §4.6.4 "void lookup")."""
        return self.outcome in _VOID

    @property
    def failed(self) -> bool:
        """We do not know what is there: SERVFAIL, timeout, budget spent or another error."""
        return not self.answered and not self.void

    @property
    def nothing_below(self) -> bool:
        """The name does not exist, and so no name below it does (RFC 8020), unless it is an alias."""
        return self.outcome is Outcome.NXDOMAIN and not self.aliased

    def txt(self) -> list[str]:
        """Each TXT record's strings joined without separators (RFC 7208 §3.3)."""
        return [join_txt(r.strings) for r in self.rdata if isinstance(r, TXT)]

    def mx(self) -> list[tuple[int, str]]:
        """(preference, exchange) pairs sorted by preference; a null MX's exchange (the root) is "."."""
        pairs = [
            (r.preference, r.exchange.to_text(omit_final_dot=True).lower())
            for r in self.rdata
            if isinstance(r, MX)
        ]
        return sorted(pairs)

    def addresses(self) -> list[str]:
        return [r.address for r in self.rdata if isinstance(r, A | AAAA)]

    def describe(self) -> str:
        """A sentence for reports: what was asked and what went wrong (or right)."""
        what = {
            Outcome.ANSWER: "answered",
            Outcome.NXDOMAIN: "does not exist (NXDOMAIN)",
            Outcome.NODATA: "has no records of this type (NODATA)",
            Outcome.SERVFAIL: "failed: the server answered SERVFAIL",
            Outcome.TIMEOUT: "failed: no answer before the timeout",
            Outcome.BUDGET_EXHAUSTED: "was not asked: the scan's DNS query budget is spent",
            Outcome.ERROR: "failed",
        }[self.outcome]
        suffix = f" ({self.detail})" if self.detail and self.outcome is not Outcome.SERVFAIL else ""
        return f"{self.rdtype} lookup for {self.name} {what}{suffix}"
