"""SPF record syntax, macros and TXT joining: pure functions, no DNS."""

from __future__ import annotations

import pytest

from dmarcwatch.dns.spf import expand_domain_spec, is_spf_record, parse_spf, select_spf_records
from dmarcwatch.dns.txt import join_txt


def errors(record: str) -> list[tuple[int | None, int | None, str]]:
    parsed = parse_spf(record)
    return [
        (issue.term_index, issue.position, issue.message)
        for issue in parsed.issues
        if issue.severity == "error"
    ]


def warnings(record: str) -> list[str]:
    return [issue.code for issue in parse_spf(record).issues if issue.severity == "warning"]


def test_join_txt_adds_no_separator() -> None:
    assert join_txt([b"v=spf1 include:_spf.goo", b"gle.test ~all"]) == "v=spf1 include:_spf.google.test ~all"
    assert join_txt([b"v=spf1 ", b"-all"]) == "v=spf1 -all"
    assert join_txt([b"caf\xe9"]) == "caf\ufffd"


@pytest.mark.parametrize(
    ("text", "is_spf"),
    [
        ("v=spf1 -all", True),
        ("v=spf1", True),
        ("V=SPF1 ~all", True),
        ("v=spf10 -all", False),
        ("v=spf1-all", False),
        (" v=spf1 -all", False),
        ("spf2.0/pra -all", False),
    ],
)
def test_version_selection(text: str, is_spf: bool) -> None:
    assert is_spf_record(text) is is_spf


def test_select_ignores_other_txt() -> None:
    assert select_spf_records(["google-site-verification=x", "v=spf1 -all", "v=DMARC1; p=none"]) == [
        "v=spf1 -all"
    ]


def test_valid_record_with_every_mechanism() -> None:
    record = (
        "v=spf1 a a:mail.example.com/24 a//64 mx:example.com/28//96 ip4:192.0.2.0/24 ip4:192.0.2.1 "
        "ip6:2001:db8::/32 include:_spf.example.com exists:%{ir}.%{v}._spf.%{d2} -all exp=explain.%{d}"
    )
    parsed = parse_spf(record)
    assert parsed.valid
    assert [term.name for term in parsed.terms] == [
        "a", "a", "a", "mx", "ip4", "ip4", "ip6", "include", "exists", "all", "exp"
    ]  # fmt: skip
    assert [(term.value, term.cidr4, term.cidr6) for term in parsed.terms[:4]] == [
        (None, None, None),
        ("mail.example.com", 24, None),
        (None, None, 64),
        ("example.com", 28, 96),
    ]
    assert parsed.terms[-2].qualifier == "-"
    assert parsed.terms[-1].kind == "modifier"


def test_runs_of_spaces_keep_positions() -> None:
    parsed = parse_spf("v=spf1  ip4:192.0.2.1   -all ")
    assert [(term.index, term.position, term.text) for term in parsed.terms] == [
        (1, 8, "ip4:192.0.2.1"),
        (2, 24, "-all"),
    ]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ("v=spf1 ip4:192.0.2.1/33", [(1, 7, "ip4: prefix length /33 is not 0-32")]),
        ("v=spf1 ip4:192.0.2", [(1, 7, "ip4: '192.0.2' is not an IPv4 address")]),
        ("v=spf1 ip6:2001:db8::/129", [(1, 7, "ip6: prefix length /129 is not 0-128")]),
        ("v=spf1 ip6:192.0.2.1", [(1, 7, "ip6: '192.0.2.1' is not an IPv6 address")]),
        ("v=spf1 a/024", [(1, 7, "a: prefix length /024 is not 0-32")]),
        ("v=spf1 include", [(1, 7, "include: 'include' needs ':' and a domain")]),
        ("v=spf1 include:example", [(1, 7, "include: 'example' is not a multi-label domain name")]),
        ("v=spf1 include:example.123", [(1, 7, "include: '123' is not a valid top-level label")]),
        ("v=spf1 include:a..example.com", [(1, 7, "include: 'a..example.com' has an empty label")]),
        ("v=spf1 exists:%{c}.example.com", [(1, 7, "exists: macro letter 'c' in '%{c}' is only in exp=")]),
        (
            "v=spf1 exists:%{d0}.example.com",
            [(1, 7, "exists: macro '%{d0}' keeps zero labels; the digit must be nonzero")],
        ),
        ("v=spf1 exists:%{i.example.com", [(1, 7, "exists: unterminated macro (missing '}')")]),
        ("v=spf1 exists:%x.example.com", [(1, 7, "exists: '%' must be followed by '{', '%', '_' or '-'")]),
        ("v=spf1 all:foo", [(1, 7, "all: 'all' takes no argument")]),
        ("v=spf1 ptr/24", [(1, 7, "ptr: 'ptr' takes no prefix length")]),
        ("v=spf1 +redirect=example.com", [(1, 7, "the 'redirect' modifier takes no qualifier")]),
        ("v=spf1 redirect=a.example redirect=b.example", [(2, 26, "'redirect' may appear only once")]),
        ("v=spf1 exp=", [(1, 7, "exp=: empty domain-spec")]),
        ("v=spf1 mx:example.com:25", [(1, 7, "mx: 'com:25' is not a valid top-level label")]),
        ("v=spf1 ~all\tip4:192.0.2.1", [(1, 7, "all: 'all' takes no argument")]),
    ],
)
def test_syntax_errors(record: str, expected: list[tuple[int, int, str]]) -> None:
    assert errors(record) == expected


def test_macro_domain_specs_are_valid() -> None:
    for record in (
        "v=spf1 exists:%{i}._spf.example.com",
        "v=spf1 include:_spf.%{d}",
        "v=spf1 exists:%{l1r+-}.%{o}._u.%{d2}",
        "v=spf1 a:%{IR}.x.example.com",
        "v=spf1 exists:%%%_%-%{s}.example.com",
        "v=spf1 unknown=%{c}%{r}%{t}",
    ):
        assert parse_spf(record).valid, record


def test_context_free_warnings() -> None:
    assert warnings("v=spf1 ptr -all") == ["ptr"]
    assert warnings("v=spf1 +all") == ["pass_all"]
    assert warnings("v=spf1 all") == ["pass_all"]
    assert warnings("v=spf1 -all ip4:192.0.2.1") == ["after_all"]
    assert warnings("v=spf1 -all redirect=_spf.example.com") == ["redirect_ignored"]
    assert warnings("v=spf1 moo=bar -all") == ["unknown_modifier"]
    assert warnings("v=spf1 ~all") == []


def test_terms_after_all_are_ignored() -> None:
    parsed = parse_spf("v=spf1 -all include:_spf.example.com")
    assert [(term.name, term.ignored) for term in parsed.terms] == [("all", False), ("include", True)]


@pytest.mark.parametrize(
    ("spec", "domain", "expanded"),
    [
        ("_spf.%{d}", "mail.example.com", "_spf.mail.example.com"),
        ("_spf.%{d2}", "a.b.example.com", "_spf.example.com"),
        ("%{dr}.rev.test", "a.b.example.com", "com.example.b.a.rev.test"),
        ("%{d1r}.x.test", "a.b.example.com", "a.x.test"),
        ("%{d9}.x.test", "example.com", "example.com.x.test"),
        ("%{D}.x.test", "Example.COM", "example.com.x.test"),
        ("plain.example.com", "ignored.test", "plain.example.com"),
        ("%{i}._spf.example.com", "example.com", None),
        ("%{l}.%{d}", "example.com", None),
    ],
)
def test_expand_domain_spec(spec: str, domain: str, expanded: str | None) -> None:
    assert expand_domain_spec(spec, domain) == expanded


def test_expansion_is_trimmed_to_253_characters_from_the_left() -> None:
    domain = ".".join(["a" * 61] * 4) + ".test"  # 252 characters
    assert len(domain) == 252
    # "_spf." + 252 = 257 characters: the leftmost label goes.
    assert expand_domain_spec("_spf.%{d}", domain) == domain
