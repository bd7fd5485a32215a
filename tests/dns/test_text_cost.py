"""Every parser of DNS text finishes quickly on hostile input (review H2: quadratic regexes).

A zone owner (any tenant) chooses every octet of the TXT records a scan reads, and one TXT answer can carry
about 64 KB. Each parser runs over 64 KB inputs built to trigger backtracking (long whitespace runs, long
labels, repeated macros, nested separators) and, because oversized records are refused before parsing,
over the same shapes cut to just under the length cap, where the parsing really happens. The bound of
50 ms of CPU is generous: a linear parser needs about 1 ms; the quadratic ones this guards against needed
seconds (`include:%{d}.x` + 'a' * 60000 + '!' took 22 s in SPF, a 32 KB space run 7 s in DMARC).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

import dns.rdataclass
import dns.rdatatype
import pytest
from dns.rdtypes.ANY.TXT import TXT

from dmarcwatch.dns import records
from dmarcwatch.dns.detect import default_detector
from dmarcwatch.dns.dkim import normalize_selector, parse_dkim_record
from dmarcwatch.dns.dmarc import DmarcStatus, check_dmarc, parse_dmarc
from dmarcwatch.dns.ownership import token_found
from dmarcwatch.dns.resolver import DnsResult, DnsSession, Outcome
from dmarcwatch.dns.spf import SpfStatus, check_spf, expand_domain_spec, parse_spf
from dmarcwatch.dns.txt import MAX_RECORD_LENGTH, join_txt

BOUND_SECONDS = 0.05
SIZE = 64 * 1024


def _fill(prefix: str, unit: str, suffix: str, size: int) -> str:
    """`prefix` + `unit` repeated + `suffix`, `size` characters long (the unit may be cut at the end)."""
    room = size - len(prefix) - len(suffix)
    return prefix + (unit * (room // len(unit) + 1))[:room] + suffix


# (name, prefix, repeated unit, suffix): each shape at 64 KB and just under the cap.
SHAPES = [
    ("spf_macro_toplabel", "v=spf1 include:%{d}.x", "a", "!"),
    ("spf_literal_label", "v=spf1 a:", "a", ".com"),
    ("spf_many_labels", "v=spf1 exists:%{d}.", "a.", "x"),
    ("spf_repeated_macros", "v=spf1 exists:", "%{d}", ".x"),
    ("spf_macro_delimiters", "v=spf1 exists:%{d5r", ".-+,/_=", "}.x"),
    ("spf_unterminated_macros", "v=spf1 exists:", "%{", ".x"),
    ("spf_space_run", "v=spf1", " ", "-all"),
    ("spf_cidr_slashes", "v=spf1 a:x.test", "/1", "x"),
    ("spf_cidr_digits", "v=spf1 mx/", "1", "//x"),
    ("spf_modifier_name", "v=spf1 ", "a.", "=x"),
    ("dmarc_space_run", "v=DMARC1; p=reject", " ", "x"),
    ("dmarc_separators", "v=DMARC1;", ";=", "x"),
    ("dmarc_equals_run", "v=DMARC1; p=reject; x", "=", " y"),
    ("dmarc_uris", "v=DMARC1; p=none; rua=", "mailto:a@b.test,", "!x"),
    ("dmarc_uri_scheme", "v=DMARC1; p=none; rua=", "a", ":x!"),
    ("dkim_key_whitespace", "v=DKIM1; k=rsa; p=", " A", "=="),
    ("tags_separators", "v=BIMI1;", " ;= ", "l=x"),
    ("tls_rpt_commas", "v=TLSRPTv1; rua=", ",", "mailto:x@y.test"),
    ("token_whitespace", "dmarcwatch-verification=", " ", "x"),
]


def _txt(text: str) -> DnsResult:
    """A TXT answer holding `text` as one record (split into character-strings of 255 octets)."""
    data = text.encode()
    strings = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    rdata = TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)
    return DnsResult("x.test", "TXT", Outcome.ANSWER, rdata=(rdata,))


class _CannedSession(DnsSession):
    """Answers every TXT question with the same record, everything else with NXDOMAIN."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    async def query(self, name: str, rdtype: str) -> DnsResult:
        if rdtype == "TXT":
            return _txt(self._text)
        return DnsResult(name, rdtype, Outcome.NXDOMAIN)


def _every_parser(text: str) -> list[tuple[str, Callable[[], object]]]:
    answer = _txt(text)
    spec = text.partition(":")[2] or text
    return [
        ("join_txt", lambda: join_txt(answer.rdata[0].strings)),  # type: ignore[attr-defined]
        ("parse_spf", lambda: parse_spf(text, "x.test")),
        ("expand_domain_spec", lambda: expand_domain_spec(spec, "a.b.c.d.e.x.test")),
        ("check_spf", lambda: asyncio.run(check_spf(_CannedSession(text), "x.test"))),
        ("parse_dmarc", lambda: parse_dmarc(text, "x.test")),
        ("check_dmarc", lambda: asyncio.run(check_dmarc(_CannedSession(text), "x.test"))),
        ("parse_dkim_record", lambda: parse_dkim_record("s1", text)),
        ("normalize_selector", lambda: normalize_selector(text)),
        ("parse_tags", lambda: records.parse_tags(text)),
        ("bimi", lambda: records.bimi(answer)),
        ("mta_sts", lambda: records.mta_sts(answer)),
        ("tls_rpt", lambda: records.tls_rpt(answer)),
        ("tech_in_txt", lambda: default_detector().tech_in_txt([text])),
        ("verification_token", lambda: token_found([answer], "TokenTokenTokenTokenToke")),
    ]


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name, prefix, unit, suffix in SHAPES:
        cases.append((f"{name}-64k", _fill(prefix, unit, suffix, SIZE)))
        cases.append((f"{name}-at-cap", _fill(prefix, unit, suffix, MAX_RECORD_LENGTH)))
    return cases


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load the tables parsers read once per process (public suffix list, selectors, providers)."""
    for _, call in _every_parser("v=spf1 -all"):
        call()


def _cpu_seconds(call: Callable[[], object]) -> float:
    """The least CPU time of three runs, without the garbage collector: a pause of the collector (or of a
    busy machine) is not the parser's cost, while a quadratic parser is slow every time."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            started = time.process_time()
            call()
            best = min(best, time.process_time() - started)
            if best <= BOUND_SECONDS:
                break
    finally:
        gc.enable()
    return best


@pytest.mark.parametrize(("case", "text"), _cases(), ids=[case for case, _ in _cases()])
def test_every_dns_text_parser_is_fast_on_hostile_input(case: str, text: str) -> None:
    slow = {}
    for parser, call in _every_parser(text):
        spent = _cpu_seconds(call)
        if spent > BOUND_SECONDS:
            slow[parser] = round(spent, 3)
    assert slow == {}, f"{case}: {slow}"


def test_the_reproductions_from_the_review_are_refused_quickly_and_clearly() -> None:
    spf = parse_spf("v=spf1 include:%{d}.x" + "a" * 60000 + "!")
    assert [(issue.code, issue.severity.value) for issue in spf.issues] == [("record_too_long", "error")]
    assert "over 4096" in spf.issues[0].message
    policy, issues = parse_dmarc("v=DMARC1; p=reject" + " " * 60000 + "x")
    assert policy is None
    assert [issue.code for issue in issues] == ["record_too_long"]
    assert parse_dkim_record("s1", "v=DKIM1; p=" + "A" * 60000) is None


def test_oversized_records_make_the_checks_invalid_not_missing() -> None:
    spf = asyncio.run(check_spf(_CannedSession("v=spf1 " + "a " * 5000 + "-all"), "x.test"))
    assert spf.status is SpfStatus.INVALID
    assert "record_too_long" in [issue.code for issue in spf.issues]
    dmarc = asyncio.run(check_dmarc(_CannedSession("v=DMARC1; p=reject;" + " " * 5000), "x.test"))
    assert dmarc.status is DmarcStatus.INVALID
    assert "record_too_long" in [issue.code for issue in dmarc.issues]


def test_records_up_to_the_cap_are_parsed() -> None:
    record = _fill("v=spf1 ", "ip4:192.0.2.1 ", "-all", MAX_RECORD_LENGTH)
    record = record[: record.rfind(" ")] + " -all"
    parsed = parse_spf(record)
    assert parsed.valid, parsed.issues
    policy, _ = parse_dmarc("v=DMARC1; p=reject;" + " " * (MAX_RECORD_LENGTH - 40) + "rua=mailto:a@x.test")
    assert policy is not None
    assert policy.p == "reject"
    assert [uri.address for uri in policy.rua] == ["a@x.test"]


def test_tag_lists_keep_their_whitespace_rules() -> None:
    """The split-and-strip tag parser reads what the pattern it replaced read."""
    policy, issues = parse_dmarc(" v = DMARC1 ;\tp =\treject ; sp=none\n; rua = mailto:a@x.test ")
    assert policy is not None
    assert (policy.p, policy.sp, policy.tags["rua"]) == ("reject", "none", "mailto:a@x.test")
    assert [issue.code for issue in issues if issue.severity == "error"] == []
    for broken in ("v=DMARC1; p", "v=DMARC1; 1p=reject", "v=DMARC1; =reject", "v=DMARC1; p q=reject"):
        policy, issues = parse_dmarc(broken)
        assert policy is None
        assert [issue.code for issue in issues] == ["syntax"], broken


def test_an_expanded_domain_over_253_characters_keeps_its_rightmost_labels() -> None:
    domain = "a." * 200 + "x.test"
    expanded = expand_domain_spec("%{d}", domain)
    assert expanded is not None
    assert len(expanded) <= 253
    assert expanded.endswith(".x.test")
    assert expanded.startswith("a.")
    assert domain.endswith(expanded)
    # A single label longer than the limit is kept whole (the query then fails as an invalid name).
    assert expand_domain_spec("%{d}", "b" * 300) == "b" * 300


def test_a_scan_session_stops_asking_once_its_cpu_time_is_spent() -> None:
    async def go() -> DnsResult:
        session = DnsSession(max_cpu_seconds=0.01)
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:
            pass
        return await session.query("x.test", "TXT")

    result = asyncio.run(go())
    assert result.outcome is Outcome.BUDGET_EXHAUSTED
    assert "CPU time" in result.describe()
