"""The fast path for canonical records reads them exactly as the general reader does, or leaves them to it.

Every input is read twice, once as usual and once with the fast path switched off, and the two results
(records, metadata and its notes, quarantine reasons) must be equal: on the shared corpus, on the quirk
fixtures, and on records built to sit just beside the canonical shape, where the fast path must give up.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from dmarcwatch.reports import DEFAULT_LIMITS, extract_reports
from dmarcwatch.reports.aggregate_canonical import _MAX_CACHED, CanonicalRecords
from dmarcwatch.reports.aggregate_fields import FieldReader
from dmarcwatch.reports.deviations import Deviations

from . import factory

QUIRKS = Path(__file__).parent / "quirks"
INPUTS = sorted(
    path
    for path in [*(factory.CORPUS.rglob("*") if factory.CORPUS.is_dir() else []), *QUIRKS.glob("*.xml")]
    if path.is_file()
)

ROW = "<row><source_ip>{ip}</source_ip><count>{count}</count>{evaluated}</row>"
VERDICTS = "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>"
EVALUATED = "<policy_evaluated>" + VERDICTS + "{extra}</policy_evaluated>"
IDENTIFIERS = "<identifiers><header_from>{header_from}</header_from>{extra}</identifiers>"
DKIM = "<dkim><domain>{domain}</domain><selector>s1</selector><result>{result}</result>{extra}</dkim>"
SPF = "<spf><domain>bounce.example.com</domain>{scope}<result>{result}</result></spf>"


def record(
    *,
    ip: str = "192.0.2.1",
    count: str = "3",
    evaluated: str | None = None,
    verdicts: str = "",
    header_from: str = "example.com",
    identifiers: str = "",
    dkim: str | None = None,
    spf: str | None = None,
    auth: str | None = None,
    extra: str = "",
) -> str:
    """A canonical record, with one part replaced or extended."""
    evaluated = EVALUATED.format(extra=verdicts) if evaluated is None else evaluated
    dkim = DKIM.format(domain="example.com", result="pass", extra="") if dkim is None else dkim
    spf = SPF.format(scope="<scope>mfrom</scope>", result="fail") if spf is None else spf
    auth = f"<auth_results>{dkim}{spf}</auth_results>" if auth is None else auth
    return (
        f"<record>{ROW.format(ip=ip, count=count, evaluated=evaluated)}"
        f"{IDENTIFIERS.format(header_from=header_from, extra=identifiers)}{auth}{extra}</record>"
    )


LONG = " " * 9000
# Records next to the canonical shape, a few still in it, most not: either way they must come out as the
# general reader reads them.
ODD_RECORDS = {
    "canonical": record(),
    "no auth_results": record(auth=""),
    "empty auth_results": record(auth="<auth_results/>"),
    "reasons": record(
        verdicts="<reason><type>forwarded</type><comment> list </comment></reason><reason><type/></reason>"
    ),
    "odd reason": record(verdicts="<reason><type>Forwarded</type></reason>"),
    "reason comment only": record(verdicts="<reason><comment>x</comment></reason>"),
    "reason twice typed": record(verdicts="<reason><type>other</type><type>other</type></reason>"),
    "padded values": record(
        evaluated="<policy_evaluated><disposition> none </disposition><dkim>\npass\n</dkim>"
        "<spf>fail </spf></policy_evaluated>"
    ),
    "padded value too long": record(
        evaluated=f"<policy_evaluated><disposition>none{LONG}</disposition><dkim>pass</dkim>"
        "<spf>fail</spf></policy_evaluated>"
    ),
    "domain too long": record(header_from="example.com" + LONG),
    "disposition odd then canonical": record(
        evaluated="<policy_evaluated><disposition>Pass</disposition><disposition>none</disposition>"
        "<dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
    ),
    "disposition twice": record(
        evaluated="<policy_evaluated><disposition>none</disposition><disposition>none</disposition>"
        "<dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
    ),
    "dkim result padded too long": record(
        dkim=DKIM.format(domain="example.com", result="pass" + LONG, extra="")
    ),
    "spf result padded too long": record(spf=SPF.format(scope="", result=LONG + "pass")),
    "verdict missing": record(evaluated=EVALUATED.format(extra="").replace("<spf>fail</spf>", "")),
    "policy_evaluated empty": record(evaluated="<policy_evaluated/>"),
    "count padded": record(count=" 3 "),
    "count thousands": record(count="1,234"),
    "count empty": record(count=""),
    "source padded": record(ip=" 192.0.2.1 "),
    "source mapped": record(ip="::ffff:192.0.2.1"),
    "source bracketed": record(ip="[192.0.2.1]"),
    "source ipv6": record(ip="2001:DB8::1"),
    "source empty": record(ip=" "),
    "header_from upper with dot": record(header_from=" Example.COM. "),
    "header_from address": record(header_from="someone@example.com"),
    "header_from empty": record(header_from=""),
    "envelope_from empty, spf mfrom": record(identifiers="<envelope_from/>"),
    "envelope_from absent, spf mfrom": record(),
    "envelope_from dot": record(identifiers="<envelope_from>.</envelope_from>"),
    "envelope_from address": record(identifiers="<envelope_from>b@bounce.example.com</envelope_from>"),
    "envelope_to": record(identifiers="<envelope_to>Example.NET</envelope_to>"),
    "envelope_to address": record(identifiers="<envelope_to>a@example.net</envelope_to>"),
    "identifiers repeated": record(identifiers="<header_from>example.org</header_from>"),
    "unknown element in identifiers": record(identifiers="<x-vendor>1</x-vendor>"),
    "dkim result odd": record(dkim=DKIM.format(domain="example.com", result="Pass", extra="")),
    "dkim result missing": record(dkim="<dkim><domain>example.com</domain></dkim>"),
    "dkim empty placeholder": record(dkim="<dkim><domain/><result/></dkim>"),
    "dkim human result": record(
        dkim=DKIM.format(domain="example.com", result="fail", extra="<human_result> bad </human_result>")
    ),
    "dkim domain address": record(dkim=DKIM.format(domain="x@example.com", result="pass", extra="")),
    "dkim domain upper": record(dkim=DKIM.format(domain="Example.com.", result="pass", extra="")),
    "dkim scope": record(dkim=DKIM.format(domain="example.com", result="pass", extra="<scope>mfrom</scope>")),
    "spf scope helo": record(spf=SPF.format(scope="<scope>helo</scope>", result="pass")),
    "spf scope empty": record(spf=SPF.format(scope="<scope/>", result="pass")),
    "spf scope odd": record(spf=SPF.format(scope="<scope>mail_from</scope>", result="pass")),
    "spf scope missing": record(spf=SPF.format(scope="", result="softfail")),
    "spf result alias": record(spf=SPF.format(scope="", result="hardfail")),
    "auth cap": record(
        auth=f"<auth_results>{DKIM.format(domain='a.example', result='pass', extra='') * 11}</auth_results>"
    ),
    "auth leaf": record(auth="<auth_results><domain>example.com</domain></auth_results>"),
    "row twice": record(extra=ROW.format(ip="192.0.2.2", count="1", evaluated=EVALUATED.format(extra=""))),
    "foreign element": record(extra='<x:ext xmlns:x="urn:vendor">1</x:ext>'),
    "renamed element": record(extra="").replace("<count>3</count>", "<Count>3</Count>"),
    "identifiers in row": record(
        evaluated=EVALUATED.format(extra="") + IDENTIFIERS.format(header_from="a.example", extra="")
    ),
    "without row": "<record><source_ip>192.0.2.1</source_ip><count>1</count>"
    "<identifiers><header_from>example.com</header_from></identifiers></record>",
}


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The result with and without the fast path, and how many records the fast path read."""
    taken = 0
    read = CanonicalRecords.read

    def counting(self: CanonicalRecords, element: Any) -> Any:
        nonlocal taken
        record = read(self, element)
        taken += record is not None
        return record

    with monkeypatch.context() as patch:
        patch.setattr(CanonicalRecords, "read", counting)
        fast = extract_reports(data).model_dump()
    with monkeypatch.context() as patch:
        patch.setattr(CanonicalRecords, "read", lambda self, element: None)
        general = extract_reports(data).model_dump()
    return fast, general, taken


@pytest.mark.parametrize("path", INPUTS, ids=lambda path: path.name)
def test_fixtures(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general, _ = _both(path.read_bytes(), monkeypatch)
    assert fast == general


@pytest.mark.parametrize("name", ODD_RECORDS)
def test_near_canonical(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = factory.metadata() + ODD_RECORDS[name] + factory.record(1)
    for namespace in (None, "urn:ietf:params:xml:ns:dmarc-2.0"):
        fast, general, _ = _both(factory.report(body=body, namespace=namespace), monkeypatch)
        assert fast == general


def test_canonical_records_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for namespace in (None, "urn:ietf:params:xml:ns:dmarc-2.0", "urn:example:other"):
        fast, general, taken = _both(factory.report(50, namespace=namespace), monkeypatch)
        assert fast == general
        assert taken == 50
        assert not fast["reports"][0]["metadata"]["errors"]


def test_corpus_mostly_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard against a fast path that quietly stopped taking real records."""
    total = taken = 0
    for path in INPUTS:
        _, general, count = _both(path.read_bytes(), monkeypatch)
        taken += count
        total += sum(len(report.get("records", [])) for report in general["reports"])
    if not total:
        pytest.skip("no records in the inputs")
    assert taken >= 0.9 * total, (taken, total)


def test_caches_are_bounded() -> None:
    """Distinct domains in every record: the caches stop growing, the records are read all the same."""
    canonical = CanonicalRecords(FieldReader("", DEFAULT_LIMITS, Deviations(50, 300)))
    for index in range(_MAX_CACHED + 500):
        domain = f"d{index}.example"
        text = record(header_from=domain, dkim=DKIM.format(domain=domain, result="pass", extra=""))
        element = ET.fromstring(text)  # noqa: S314 - a document of our own
        read = canonical.read(element)
        assert read is not None
        assert (read.header_from, read.dkim_results[0].domain) == (domain, domain)
    assert len(canonical.domains) <= _MAX_CACHED
    assert all(len(results) <= _MAX_CACHED for results in canonical.results)
