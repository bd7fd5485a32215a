"""SPF analysis (RFC 7208) of a domain's published policy, without a message to evaluate.

A receiver evaluates SPF for one sender IP and stops at the first match. A monitor has no sender, so it
walks the whole tree instead: every term is checked, every `include` and `redirect` is followed, and the
DNS-querying terms are counted as a receiver would count them in the worst case (RFC 7208 §4.6.4): at most
10 of `include`, `a`, `mx`, `ptr`, `exists` and `redirect` in the whole evaluation, at most 2 void lookups
(NXDOMAIN or NODATA), at most 10 MX names per `mx`. Going over a limit is a permerror at the receiver, so
those domains fail SPF for everyone; that is the most common SPF failure in practice and the reason this
module exists.

What cannot be known without a sender is marked, not guessed: `ptr` and macro targets that need the
sender (`%{i}`, `%{s}`, `%{l}` ...) count as one lookup each and are reported as unexpanded. Only `%{d}`
(the current domain) is expanded.

Speed: a scan's time is its chain of dependent round trips. All DNS terms of one record (every include,
`a`, `mx`, `exists`, and the redirect) are resolved at once, so the chain is only as long as the include
depth; the session's memo makes a name reached through several branches cost one query.

Cost: the record text is the zone owner's choice, so parsing is linear in it. A record longer than
`MAX_RECORD_LENGTH` is invalid without being parsed, every regular expression runs on a bounded or
unambiguous input (a top-level label is checked against its 63-character limit before its pattern), and
the truncation of an over-long expanded domain cuts once instead of label by label.

Status, most definite first: `missing` (no SPF record), `invalid` (a permerror other than a limit:
syntax, several records, include loop, include/redirect target without SPF), `over_limit`, `error` (DNS
trouble, the tree could not be read completely), `valid`. A DNS failure is never reported as `missing`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from dmarcwatch.dns.models import Issue, Severity
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.txt import too_long

LOOKUP_LIMIT = 10
VOID_LOOKUP_LIMIT = 2
MX_HOST_LIMIT = 10
# Every record below the top one is reached through a lookup term, so a tree of 40 records is far over
# the limit already; the cap only stops pathological (diamond-shaped, exponential) trees.
MAX_RECORDS = 40

_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
LOOKUP_TERMS: tuple[str, ...] = ("include", "a", "mx", "ptr", "exists", "redirect")
_LIMIT_CODES = frozenset({"too_many_lookups", "too_many_void_lookups", "too_many_mx_hosts"})

_VERSION_RE = re.compile(r"v=spf1(?: |$)", re.IGNORECASE)
_MODIFIER_RE = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=(.*)", re.DOTALL)
_MECHANISM_RE = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9_.\-]*)(.*)", re.DOTALL)
_DUAL_CIDR_RE = re.compile(r"(.*?)(?:/(\d+))?(?://(\d+))?", re.DOTALL)
_CIDR_NUMBER_RE = re.compile(r"0|[1-9][0-9]*")
_MACRO_BODY_RE = re.compile(r"([A-Za-z])([0-9]*)([rR]?)([.\-+,/_=]*)")
# Applied only to labels of at most 63 characters (`_is_toplabel`): its alternatives overlap, so a long
# non-matching input would cost quadratic time.
_TOPLABEL_RE = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]")
_MACRO_LETTERS = frozenset("slodiphv")
_QUALIFIERS: dict[str, Literal["+", "-", "~", "?"]] = {"": "+", "+": "+", "-": "-", "~": "~", "?": "?"}
# Outcomes that tell what is (or is not) published, as opposed to DNS trouble.
_KNOWN = frozenset({Outcome.ANSWER, Outcome.NXDOMAIN, Outcome.NODATA})
_EXP_ONLY_MACRO_LETTERS = frozenset("crt")


class SpfStatus(StrEnum):
    VALID = "valid"
    OVER_LIMIT = "over_limit"
    MISSING = "missing"
    INVALID = "invalid"
    ERROR = "error"


class MxHost(BaseModel):
    preference: int
    host: str
    addresses: list[str] = Field(default_factory=list)


class SpfTerm(BaseModel):
    """One term of a record and, once evaluated, what its DNS work found."""

    index: int
    position: int
    text: str
    kind: Literal["mechanism", "modifier"]
    qualifier: Literal["+", "-", "~", "?"] | None = None
    name: str
    value: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    valid: bool = True
    # Counted towards the 10-lookup limit (valid DNS terms that a receiver could reach).
    counts_lookup: bool = False
    # Never evaluated by a receiver: mechanisms after `all`, `redirect` when `all` is present.
    ignored: bool = False
    target: str | None = None
    unexpanded: bool = False
    void: bool = False
    loop: bool = False
    null_mx: bool = False
    dns_error: str | None = None
    addresses: list[str] = Field(default_factory=list)
    mx_hosts: list[MxHost] = Field(default_factory=list)
    child: SpfNode | None = None


class SpfNode(BaseModel):
    """One SPF record in the tree: the top one, or one reached by `include` / `redirect`."""

    domain: str
    via: Literal["include", "redirect"] | None = None
    outcome: Outcome | None = None
    record: str | None = None
    records: list[str] = Field(default_factory=list)
    terms: list[SpfTerm] = Field(default_factory=list)
    lookups: int = 0
    total_lookups: int = 0
    _issues: list[Issue] = PrivateAttr(default_factory=list)

    def add_issue(self, severity: Severity, code: str, message: str, term: SpfTerm | None = None) -> None:
        self._issues.append(
            Issue(
                severity=severity,
                code=code,
                message=message,
                domain=self.domain,
                term=term.text if term else None,
                term_index=term.index if term else None,
                position=term.position if term else None,
            )
        )


SpfTerm.model_rebuild()


class LookupCounts(BaseModel):
    """DNS-querying terms as a receiver counts them (RFC 7208 §4.6.4), over the whole tree.

    `main` is the top record's own, `nested` those of every record below it. `lower_bound` means part of
    the tree could not be read (DNS trouble, truncation, unexpandable macros), so the true numbers may be
    higher.
    """

    main: int = 0
    nested: int = 0
    total: int = 0
    limit: int = LOOKUP_LIMIT
    by_mechanism: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(LOOKUP_TERMS, 0))
    void: int = 0
    void_limit: int = VOID_LOOKUP_LIMIT
    lower_bound: bool = False


class SpfResult(BaseModel):
    domain: str
    status: SpfStatus
    reasons: list[str] = Field(default_factory=list)
    record: str | None = None
    tree: SpfNode | None = None
    lookups: LookupCounts = Field(default_factory=LookupCounts)
    unexpanded: list[str] = Field(default_factory=list)
    truncated: bool = False
    issues: list[Issue] = Field(default_factory=list)


class ParsedSpf(BaseModel):
    record: str
    terms: list[SpfTerm]
    issues: list[Issue]

    @property
    def valid(self) -> bool:
        return not any(issue.severity is Severity.ERROR for issue in self.issues)


# --- records and syntax ----------------------------------------------------------------------------------


def is_spf_record(text: str) -> bool:
    """RFC 7208 §4.5: exactly `v=spf1` (case-insensitive), then a space or the end."""
    return _VERSION_RE.match(text) is not None


def select_spf_records(txt_records: list[str]) -> list[str]:
    return [text for text in txt_records if is_spf_record(text)]


@dataclass(frozen=True, slots=True)
class _Macro:
    letter: str
    upper: bool
    digits: int | None
    reverse: bool
    delimiters: str


_Token = str | _Macro


def _tokenize_macro_string(text: str, *, exp: bool = False) -> tuple[list[_Token], str | None]:
    """RFC 7208 §7.1 macro-string: literals and macro-expands, or the first syntax error."""
    tokens: list[_Token] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "%":
            if not "\x21" <= char <= "\x7e":
                return tokens, f"character {char!r} is not allowed"
            literal.append(char)
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following in ("%", "_", "-"):
            literal.append({"%": "%", "_": " ", "-": "%20"}[following])
            i += 2
            continue
        if following != "{":
            return tokens, "'%' must be followed by '{', '%', '_' or '-'"
        end = text.find("}", i + 2)
        if end < 0:
            return tokens, "unterminated macro (missing '}')"
        body = text[i + 2 : end]
        match = _MACRO_BODY_RE.fullmatch(body)
        if match is None:
            return tokens, f"malformed macro '%{{{body}}}'"
        letter = match[1].lower()
        allowed = _MACRO_LETTERS | _EXP_ONLY_MACRO_LETTERS if exp else _MACRO_LETTERS
        if letter not in allowed:
            where = "only in exp=" if letter in _EXP_ONLY_MACRO_LETTERS else "not a macro letter"
            return tokens, f"macro letter '{match[1]}' in '%{{{body}}}' is {where}"
        digits = int(match[2]) if match[2] else None
        if digits == 0:
            return tokens, f"macro '%{{{body}}}' keeps zero labels; the digit must be nonzero"
        if literal:
            tokens.append("".join(literal))
            literal = []
        # The delimiters are a set: each kept once, so a long run of them costs nothing later.
        delimiters = "".join(dict.fromkeys(match[4]))
        tokens.append(_Macro(letter, match[1].isupper(), digits, bool(match[3]), delimiters))
        i = end + 1
    if literal:
        tokens.append("".join(literal))
    return tokens, None


def _is_toplabel(label: str) -> bool:
    """RFC 7208 §7.1 toplabel, for a label within the 63-character limit of RFC 1035."""
    return 0 < len(label) <= 63 and _TOPLABEL_RE.fullmatch(label) is not None


def _check_literal_domain(domain: str) -> str | None:
    labels = domain[:-1].split(".") if domain.endswith(".") else domain.split(".")
    if len(domain.rstrip(".")) > 253:
        return "domain is longer than 253 characters"
    if len(labels) < 2:
        return f"'{domain}' is not a multi-label domain name"
    for label in labels:
        if not label:
            return f"'{domain}' has an empty label"
        if len(label) > 63:
            return f"label '{label[:20]}...' is longer than 63 characters"
    if not _is_toplabel(labels[-1]):
        return f"'{labels[-1]}' is not a valid top-level label"
    return None


def _check_domain_spec(spec: str) -> str | None:
    """RFC 7208 §7.1 domain-spec = macro-string domain-end; None when valid."""
    if not spec:
        return "empty domain-spec"
    tokens, error = _tokenize_macro_string(spec)
    if error:
        return error
    if not any(isinstance(token, _Macro) for token in tokens):
        return _check_literal_domain(spec)
    if isinstance(tokens[-1], _Macro):
        return None
    tail = tokens[-1].rstrip(".")
    if "." not in tail or not _is_toplabel(tail.rsplit(".", 1)[1]):
        return "a domain-spec must end in a macro or in '.' and a top-level label"
    return None


def expand_domain_spec(spec: str, domain: str) -> str | None:
    """The domain a term queries, or None when it needs the sender (any macro other than `%{d}`) or is
    longer than any record `parse_spf` reads.

    RFC 7208 §7.3: split on the delimiters (default "."), optionally reverse, keep the rightmost N parts,
    join with dots; a result over 253 characters loses labels on the left.
    """
    if too_long(spec) is not None:
        return None  # no record holds it (`parse_spf` refuses longer records)
    tokens, error = _tokenize_macro_string(spec)
    if error:
        return None
    out: list[str] = []
    # A macro repeated in the spec is expanded once.
    expanded: dict[_Macro, str] = {}
    for token in tokens:
        if isinstance(token, str):
            out.append(token)
            continue
        if token.letter != "d":
            return None
        if token not in expanded:
            parts = re.split("[" + re.escape(token.delimiters or ".") + "]", domain)
            if token.reverse:
                parts.reverse()
            if token.digits is not None:
                parts = parts[-token.digits :]
            value = ".".join(parts)
            expanded[token] = urllib.parse.quote(value, safe="") if token.upper else value
        out.append(expanded[token])
    return _keep_rightmost("".join(out).rstrip(".").lower())


def _keep_rightmost(name: str, limit: int = 253) -> str:
    """Drop whole labels on the left until `name` fits in `limit` characters (a single label is kept)."""
    if len(name) <= limit:
        return name
    # The first dot whose removal (with everything left of it) leaves at most `limit` characters.
    cut = name.find(".", len(name) - limit - 1)
    return name[cut + 1 :] if cut >= 0 else name.rsplit(".", 1)[-1]


def _cidr(text: str | None, maximum: int) -> tuple[int | None, str | None]:
    if text is None:
        return None, None
    if not _CIDR_NUMBER_RE.fullmatch(text) or int(text) > maximum:
        return None, f"prefix length /{text} is not 0-{maximum}"
    return int(text), None


def _parse_mechanism(term: SpfTerm, rest: str) -> str | None:
    """Fill in value and prefix lengths of a mechanism from what follows its name; return a syntax error."""
    name = term.name
    if name == "all":
        return None if not rest else "'all' takes no argument"
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            return f"'{name}' needs ':' and a domain"
        term.value = rest[1:]
        return _check_domain_spec(term.value)
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            return f"'{name}' needs ':' and a network"
        address, _, prefix = rest[1:].partition("/")
        maximum = 32 if name == "ip4" else 128
        try:
            if name == "ip4":
                ipaddress.IPv4Address(address)
            else:
                ipaddress.IPv6Address(address)
        except ValueError:
            return f"'{address}' is not an IPv{name[-1]} address"
        term.value = rest[1:]
        cidr, error = _cidr(prefix if "/" in rest else None, maximum)
        if name == "ip4":
            term.cidr4 = cidr
        else:
            term.cidr6 = cidr
        return error
    # a, mx, ptr: optional ":domain-spec", and for a/mx an optional dual CIDR length.
    if rest and rest[0] not in ":/":
        return f"unexpected '{rest}' after '{name}'"
    if name == "ptr":
        if rest.startswith("/"):
            return "'ptr' takes no prefix length"
        spec = rest[1:] if rest else None
    else:
        match = _DUAL_CIDR_RE.fullmatch(rest)
        assert match is not None  # the pattern matches every string
        spec_part, v4, v6 = match[1], match[2], match[3]
        if spec_part and not spec_part.startswith(":"):
            return f"unexpected '{spec_part}' after '{name}'"
        spec = spec_part[1:] if spec_part else None
        term.cidr4, error4 = _cidr(v4, 32)
        term.cidr6, error6 = _cidr(v6, 128)
        if error4 or error6:
            return error4 or error6
    if spec is not None:
        term.value = spec
        return _check_domain_spec(spec)
    return None


def _split_terms(record: str) -> list[tuple[int, str]]:
    """(offset, text) of each space-separated term; runs of spaces are allowed (RFC 7208 §4.6.1)."""
    return [(match.start(), match[0]) for match in re.finditer(r"[^ ]+", record)]


def parse_spf(record: str, domain: str | None = None) -> ParsedSpf:
    """Syntax of one SPF record (RFC 7208 §4.6, §5, §6, §7): its terms and every error with position.

    Context-free warnings are added here (`ptr`, `+all`, terms after `all`, a `redirect` that `all`
    makes dead). Whether the record lacks an `all` matters only for policy-bearing records, so the
    evaluator decides that.
    """
    issues: list[Issue] = []

    def issue(severity: Severity, code: str, message: str, term: SpfTerm | None = None) -> None:
        issues.append(
            Issue(
                severity=severity,
                code=code,
                message=message,
                domain=domain,
                term=term.text if term else None,
                term_index=term.index if term else None,
                position=term.position if term else None,
            )
        )

    oversized = too_long(record)
    if oversized is not None:
        issue(Severity.ERROR, "record_too_long", oversized)
        return ParsedSpf(record=record, terms=[], issues=issues)
    parts = _split_terms(record)
    if not parts or not is_spf_record(record):
        issue(Severity.ERROR, "syntax", "an SPF record must begin with 'v=spf1'")
        return ParsedSpf(record=record, terms=[], issues=issues)
    terms: list[SpfTerm] = []
    seen_modifiers: set[str] = set()
    all_seen = False
    for index, (offset, text) in enumerate(parts[1:], start=1):
        modifier = _MODIFIER_RE.fullmatch(text)
        if modifier is not None:
            term = SpfTerm(index=index, position=offset, text=text, kind="modifier", name=modifier[1].lower())
            term.value = modifier[2]
            terms.append(term)
            if term.name in ("redirect", "exp"):
                if term.name in seen_modifiers:
                    term.valid = False
                    issue(Severity.ERROR, "syntax", f"'{term.name}' may appear only once", term)
                    continue
                seen_modifiers.add(term.name)
                error = _check_domain_spec(term.value)
            else:
                error = _tokenize_macro_string(term.value, exp=True)[1]
                if error is None:
                    issue(
                        Severity.WARNING,
                        "unknown_modifier",
                        f"unknown modifier '{term.name}' is ignored",
                        term,
                    )
            if error is not None:
                term.valid = False
                issue(Severity.ERROR, "syntax", f"{term.name}=: {error}", term)
            continue
        mechanism = _MECHANISM_RE.fullmatch(text)
        name = mechanism[2].lower() if mechanism else ""
        qualifier = mechanism[1] if mechanism else ""
        term = SpfTerm(
            index=index,
            position=offset,
            text=text,
            kind="mechanism",
            name=name or text,
            qualifier=_QUALIFIERS[qualifier],
        )
        terms.append(term)
        if mechanism is None or name not in _MECHANISMS:
            term.valid = False
            if name in ("redirect", "exp") and mechanism and mechanism[3].startswith("="):
                issue(Severity.ERROR, "syntax", f"the '{name}' modifier takes no qualifier", term)
            else:
                issue(Severity.ERROR, "syntax", f"unknown mechanism '{name or text}'", term)
            continue
        error = _parse_mechanism(term, mechanism[3])
        if error is not None:
            term.valid = False
            issue(Severity.ERROR, "syntax", f"{name}: {error}", term)
            continue
        if all_seen:
            term.ignored = True
            issue(Severity.WARNING, "after_all", f"'{text}' comes after 'all' and is never evaluated", term)
        if name == "all":
            all_seen = True
            if term.qualifier == "+":
                issue(Severity.WARNING, "pass_all", "'+all' authorizes every host on the internet", term)
        if name == "ptr":
            issue(Severity.WARNING, "ptr", "'ptr' is deprecated (RFC 7208 §5.5): slow and unreliable", term)
    if all_seen:
        for term in terms:
            if term.name == "redirect" and term.kind == "modifier" and term.valid:
                term.ignored = True
                issue(
                    Severity.WARNING,
                    "redirect_ignored",
                    "'redirect' is ignored because 'all' is present",
                    term,
                )
    return ParsedSpf(record=record, terms=terms, issues=issues)


# --- evaluation ------------------------------------------------------------------------------------------


@dataclass
class _Scan:
    session: DnsSession
    max_records: int
    records: int = 1
    truncated: bool = False


def _dns_failure(node: SpfNode, result: DnsResult, term: SpfTerm | None = None) -> None:
    if term is not None:
        term.dns_error = result.describe()
    node.add_issue(Severity.ERROR, f"dns_{result.outcome.value}", result.describe(), term)


async def _evaluate(
    scan: _Scan, domain: str, via: Literal["include", "redirect"] | None, path: tuple[str, ...], policy: bool
) -> SpfNode:
    """Fetch and evaluate the record of `domain`; `policy` is true for the top record and redirect targets,
    whose `all` is the domain's final word."""
    node = SpfNode(domain=domain, via=via)
    result = await scan.session.query(domain, "TXT")
    node.outcome = result.outcome
    if result.failed:
        _dns_failure(node, result)
        return node
    node.records = select_spf_records(result.txt())
    if len(node.records) > 1:
        node.add_issue(
            Severity.ERROR,
            "multiple_records",
            f"{domain} publishes {len(node.records)} SPF records; receivers return permerror",
        )
        return node
    if not node.records:
        return node
    node.record = node.records[0]
    parsed = parse_spf(node.record, domain)
    node.terms = parsed.terms
    node._issues.extend(parsed.issues)
    usable = [term for term in node.terms if term.valid and not term.ignored]
    all_term = next((term for term in usable if term.name == "all"), None)
    has_redirect = any(term.name == "redirect" for term in usable)
    if policy and all_term is None and not has_redirect:
        node.add_issue(
            Severity.WARNING,
            "missing_all",
            "no 'all' and no 'redirect': unmatched mail gets a neutral result",
        )
    if policy and all_term is not None and all_term.qualifier == "?":
        node.add_issue(
            Severity.WARNING, "neutral_all", "'?all' asserts nothing about unlisted senders", all_term
        )
    child_path = (*path, domain)
    jobs = []
    for term in usable:
        if term.name in LOOKUP_TERMS:
            term.counts_lookup = True
            jobs.append(_evaluate_term(scan, node, term, child_path, policy))
    await asyncio.gather(*jobs)
    node.lookups = sum(term.counts_lookup for term in node.terms)
    node.total_lookups = node.lookups + sum(term.child.total_lookups for term in node.terms if term.child)
    return node


async def _evaluate_term(
    scan: _Scan, node: SpfNode, term: SpfTerm, path: tuple[str, ...], policy: bool
) -> None:
    if term.name == "ptr":
        # Needs the sender's IP: counted, nothing to ask.
        term.unexpanded = True
        return
    spec = term.value if term.value is not None else node.domain
    target = expand_domain_spec(spec, node.domain)
    if target is None:
        term.unexpanded = True
        return
    term.target = target
    if term.name in ("include", "redirect"):
        await _follow(scan, node, term, target, path, policy)
    elif term.name == "a":
        await _address_term(scan, node, term, target)
    elif term.name == "mx":
        await _mx_term(scan, node, term, target)
    elif term.name == "exists":
        result = await scan.session.query(target, "A")
        if result.failed:
            _dns_failure(node, result, term)
        term.void = result.void
        term.addresses = result.addresses()


async def _follow(
    scan: _Scan, node: SpfNode, term: SpfTerm, target: str, path: tuple[str, ...], policy: bool
) -> None:
    mechanism: Literal["include", "redirect"] = "include" if term.name == "include" else "redirect"
    if target in path:
        term.loop = True
        chain = " -> ".join((*path, target))
        node.add_issue(Severity.ERROR, f"{mechanism}_loop", f"{mechanism} loop: {chain}", term)
        return
    if scan.records >= scan.max_records:
        scan.truncated = True
        return
    scan.records += 1
    child = await _evaluate(scan, target, mechanism, path, policy and mechanism == "redirect")
    term.child = child
    if child.outcome not in _KNOWN:
        return  # the DNS failure is already reported on the child
    term.void = child.outcome is not Outcome.ANSWER
    if child.records:
        return
    if child.outcome is Outcome.NXDOMAIN:
        node.add_issue(
            Severity.ERROR,
            f"{mechanism}_nxdomain",
            f"{mechanism} of a non-existent domain {target} (permerror at receivers)",
            term,
        )
    else:
        node.add_issue(
            Severity.ERROR,
            f"{mechanism}_no_spf",
            f"{mechanism} target {target} has no SPF record (permerror at receivers)",
            term,
        )


async def _addresses(scan: _Scan, name: str) -> tuple[list[str], list[DnsResult], bool]:
    """A and AAAA of `name` at once: (addresses, failed results, void)."""
    a, aaaa = await asyncio.gather(scan.session.query(name, "A"), scan.session.query(name, "AAAA"))
    failed = [result for result in (a, aaaa) if result.failed]
    return a.addresses() + aaaa.addresses(), failed, a.void and aaaa.void


async def _address_term(scan: _Scan, node: SpfNode, term: SpfTerm, target: str) -> None:
    # Without a sender we do not know which family a receiver would ask, so the term is void only when
    # both are empty.
    addresses, failed, void = await _addresses(scan, target)
    for result in failed:
        _dns_failure(node, result, term)
    term.addresses = addresses
    term.void = void and not failed


async def _mx_term(scan: _Scan, node: SpfNode, term: SpfTerm, target: str) -> None:
    result = await scan.session.query(target, "MX")
    if result.failed:
        _dns_failure(node, result, term)
        return
    term.void = result.void
    pairs = result.mx()
    if len(pairs) == 1 and pairs[0][1] == ".":
        term.null_mx = True
        node.add_issue(
            Severity.WARNING,
            "null_mx",
            f"{target} publishes a null MX (RFC 7505): 'mx' matches nothing there",
            term,
        )
        return
    term.mx_hosts = [MxHost(preference=preference, host=host) for preference, host in pairs]
    if len(pairs) > MX_HOST_LIMIT:
        node.add_issue(
            Severity.ERROR,
            "too_many_mx_hosts",
            f"{target} has {len(pairs)} MX hosts; 'mx' allows at most {MX_HOST_LIMIT} (permerror)",
            term,
        )
        return
    resolved = await asyncio.gather(*(_addresses(scan, host.host) for host in term.mx_hosts))
    for host, (addresses, failed, _void) in zip(term.mx_hosts, resolved, strict=True):
        host.addresses = addresses
        for failure in failed:
            _dns_failure(node, failure, term)
        if not addresses and not failed:
            node.add_issue(
                Severity.WARNING, "mx_host_no_address", f"MX host {host.host} has no address", term
            )


# --- summary ---------------------------------------------------------------------------------------------


def _walk(node: SpfNode) -> list[SpfNode]:
    """Depth-first, in term order: deterministic whatever order the DNS answers arrived in."""
    nodes = [node]
    for term in node.terms:
        if term.child is not None:
            nodes.extend(_walk(term.child))
    return nodes


def _summarise(domain: str, root: SpfNode, scan: _Scan) -> SpfResult:
    nodes = _walk(root)
    issues = [issue for node in nodes for issue in node._issues]
    counts = LookupCounts(
        main=root.lookups, total=root.total_lookups, nested=root.total_lookups - root.lookups
    )
    unexpanded: list[str] = []
    for node in nodes:
        for term in node.terms:
            if term.counts_lookup:
                counts.by_mechanism[term.name] += 1
            counts.void += term.void
            if term.unexpanded and term.name != "ptr":
                unexpanded.append(term.text)
    dns_failed = any(issue.code.startswith("dns_") for issue in issues)
    counts.lower_bound = dns_failed or scan.truncated or bool(unexpanded)
    result = SpfResult(
        domain=domain,
        status=SpfStatus.VALID,
        record=root.record,
        tree=root,
        lookups=counts,
        unexpanded=unexpanded,
        truncated=scan.truncated,
    )
    if root.outcome not in _KNOWN:
        result.status = SpfStatus.ERROR
        result.reasons = [issue.message for issue in issues]
        result.issues = issues
        return result
    if not root.records:
        why = {
            Outcome.NXDOMAIN: f"{domain} does not exist (NXDOMAIN)",
            Outcome.NODATA: f"{domain} has no TXT records",
        }.get(root.outcome or Outcome.ANSWER, f"none of the TXT records of {domain} begins with 'v=spf1'")
        result.status = SpfStatus.MISSING
        result.reasons = [f"no SPF record: {why}"]
        result.issues = [
            Issue(severity=Severity.ERROR, code="missing", message=result.reasons[0], domain=domain)
        ]
        return result

    def summary_issue(severity: Severity, code: str, message: str) -> None:
        issues.append(Issue(severity=severity, code=code, message=message, domain=domain))

    if counts.total > LOOKUP_LIMIT:
        summary_issue(
            Severity.ERROR,
            "too_many_lookups",
            f"{counts.total} DNS lookups ({counts.main} in the record, {counts.nested} nested); "
            f"receivers stop at {LOOKUP_LIMIT} with permerror",
        )
    elif counts.total >= LOOKUP_LIMIT - 1:
        summary_issue(
            Severity.WARNING,
            "near_lookup_limit",
            f"{counts.total} of {LOOKUP_LIMIT} DNS lookups: one more include breaks SPF",
        )
    if counts.void > VOID_LOOKUP_LIMIT:
        summary_issue(
            Severity.ERROR,
            "too_many_void_lookups",
            f"{counts.void} void lookups (NXDOMAIN or no data); receivers allow {VOID_LOOKUP_LIMIT}",
        )
    if scan.truncated:
        summary_issue(
            Severity.WARNING,
            "truncated",
            f"the include tree has more than {scan.max_records} records; counts are a lower bound",
        )
    if unexpanded:
        summary_issue(
            Severity.WARNING,
            "unexpanded_macros",
            f"{len(unexpanded)} term(s) use sender macros and were not followed: " + ", ".join(unexpanded),
        )
    errors = [issue for issue in issues if issue.severity is Severity.ERROR]
    if any(not issue.code.startswith("dns_") and issue.code not in _LIMIT_CODES for issue in errors):
        result.status = SpfStatus.INVALID
    elif any(issue.code in _LIMIT_CODES for issue in errors) or scan.truncated:
        result.status = SpfStatus.OVER_LIMIT
    elif dns_failed:
        result.status = SpfStatus.ERROR
    result.reasons = list(dict.fromkeys(issue.message for issue in errors))
    result.issues = issues
    return result


def _normalize(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


async def check_spf(session: DnsSession, domain: str, *, max_records: int = MAX_RECORDS) -> SpfResult:
    """Fetch and analyse the SPF policy of `domain` (an ASCII/A-label name) using `session`."""
    name = _normalize(domain)
    scan = _Scan(session=session, max_records=max_records)
    root = await _evaluate(scan, name, None, (), True)
    return _summarise(name, root, scan)
