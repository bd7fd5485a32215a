"""Every file of the shared corpus either parses to exactly its records or is rejected with a precise reason.

The expected record count and message total are computed here independently of the code under test: the
file is unpacked with the stdlib (email, zipfile, zlib) and `<record>` and `<count>` are counted by regex.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from email import message_from_bytes, policy
from io import BytesIO
from pathlib import Path

import pytest

from dmarcwatch.reports import DEFAULT_LIMITS, ReasonCode, extract_reports

from .factory import CORPUS

FILES = (
    sorted(str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*") if path.is_file())
    if CORPUS.is_dir()
    else []
)

pytestmark = pytest.mark.skipif(not FILES, reason=f"the shared corpus is not at {CORPUS}")

# Files that must be rejected, and why. Everything else must parse (failure reports are matched by folder).
REJECTED = {
    "dmarc-cat/bad.xml": ReasonCode.EMPTY_FILE,  # zero bytes
    "dmarc-cat/empty.txt": ReasonCode.EMPTY_FILE,  # zero bytes
    "parsedmarc-samples/empty.xml": ReasonCode.EMPTY_FILE,  # zero bytes
    "dmarc-cat/bad.zip": ReasonCode.EMPTY_FILE,  # a valid zip whose only member, bad.xml, is empty
    "dmarc-cat/notempty.txt": ReasonCode.NOT_A_REPORT,  # "this is a file"
    "dmarc-cat/notempty.txt.gz": ReasonCode.NOT_A_REPORT,  # the same text, gzipped
    "dmarc-cat/notempty.zip": ReasonCode.NOT_A_REPORT,  # the same text, zipped
    # A 0x91 byte in header_from: the domain would be wrong, so the report is refused, not repaired.
    "parsedmarc-samples/aggregate/invalid_utf_8.xml": ReasonCode.XML_INVALID_ENCODING,
    # <email><bad-xml@bad-xml.net></email> and an unescaped "<" in header_from.
    "parsedmarc-samples/aggregate/invalid_xml.xml": ReasonCode.XML_MALFORMED,
}
FAILURE_FOLDERS = ("parsedmarc-samples/failure/", "parsedmarc-samples/_history/forensic/")

# Named invalid, yet readable; each is checked for what makes it look invalid.
RECOVERED = {
    # "Pass" in upper case: normalised.
    "parsedmarc-samples/aggregate_invalid/report_with_upper_cased_pass.xml",
    "parsedmarc-samples/_history/aggregate/invalid/report_with_upper_cased_pass.xml",
    # A complete, well-formed report with no <record>: zero-record reports are valid.
    "DmarcRua/aggregate/known-invalid/5ba061b20478455bb07c5bd08b3c6fea.xml",
    # <reason><type/><comment/></reason>: an empty placeholder, dropped.
    "parsedmarc-samples/aggregate/empty_reason.xml",
}

# The notes some files leave in metadata.errors: what the parser repaired in them.
NOTES = {
    # A hand-added comment before the XML declaration, which XML forbids; the declaration is dropped.
    "DmarcRua/legacy-tests/SampleReports/TestFeedback12.xml": ["XML declaration after a comment ignored"],
    "parsedmarc-samples/aggregate/ikea.com!example.de!1538690400!1538776800.xml": [
        "<feedback> read from inside <schema>"
    ],
    "parsedmarc-samples/aggregate/rfc9990-sample.xml": ["record 1: disposition 'pass' read as 'none'"],
    "parsedmarc-samples/aggregate_invalid/report_with_upper_cased_pass.xml": [
        "record 1: disposition 'None' normalised to 'none'",
        "record 1: dkim 'Pass' normalised to 'pass'",
        "record 1: spf 'Pass' normalised to 'pass'",
        "record 1: DKIM result 'Pass' normalised to 'pass'",
        "record 1: SPF result 'Pass' normalised to 'pass'",
    ],
    # <dkim><domain/><result/></dkim> placeholders in every record.
    "DmarcRua/aggregate/9e54fda946ad43c2bd234113b5e17c46.xml": [
        "record 1: an empty <dkim> result dropped (and 11 more)"
    ],
    # <envelope_from/>, but no SPF result scoped mfrom to read it from: left unknown, nothing repaired.
    "parsedmarc-samples/aggregate/usssa.com!example.com!1538784000!1538870399.xml": [],
    # A report as the RFC means it: nothing to note.
    "DmarcRua/aggregate/TestFeedback6.xml": [],
}

_RECORD = re.compile(rb"<(?:[\w.-]+:)?record[\s>]")
_COUNT = re.compile(rb"<(?:[\w.-]+:)?count>\s*(\d+)\s*</")


def _unpack(data: bytes) -> list[bytes]:
    """The documents inside a file, unpacked with the stdlib only."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return [doc for name in archive.namelist() for doc in _unpack(archive.read(name))]
    if data.startswith(b"\x1f\x8b"):
        inflater = zlib.decompressobj(wbits=31)
        return _unpack(inflater.decompress(data))
    if re.match(rb"^[\w-]+:", data):
        message = message_from_bytes(data, policy=policy.default)
        documents = []
        for part in message.walk():
            if not part.is_multipart():
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes) and payload.lstrip()[:1] in (b"<", b"{", b"P", b"\x1f"):
                    documents.extend(_unpack(payload))
        return documents
    return [data]


def _expected(data: bytes) -> tuple[int, int, int]:
    """(aggregate records, message total, TLS policies) of a file, counted independently."""
    records = messages = policies = 0
    for document in _unpack(data):
        if document.lstrip().startswith(b"{"):
            policies += len(json.loads(document)["policies"])
        else:
            records += len(_RECORD.findall(document))
            messages += sum(int(count) for count in _COUNT.findall(document))
    return records, messages, policies


@pytest.mark.parametrize("relative", FILES)
def test_corpus_file(relative: str) -> None:
    data = (CORPUS / relative).read_bytes()
    result = extract_reports(data)
    if relative in REJECTED or relative.startswith(FAILURE_FOLDERS):
        expected = REJECTED.get(relative, ReasonCode.FAILURE_REPORT_NOT_SUPPORTED)
        assert result.quarantine is not None, f"{relative} parsed, expected {expected}"
        assert result.quarantine.code == expected, result.quarantine
        assert result.reports == []
        return
    assert result.quarantine is None, result.quarantine
    records, messages, policies = _expected(data)
    aggregates = [report for report in result.reports if report.kind == "aggregate"]
    tls = [report for report in result.reports if report.kind == "tlsrpt"]
    assert sum(len(report.records) for report in aggregates) == records
    assert sum(report.message_count for report in aggregates) == messages
    assert sum(len(report.policies) for report in tls) == policies
    assert result.reports, "a parsed file has at least one report"
    for report in aggregates:
        assert len(report.metadata.errors) <= DEFAULT_LIMITS.max_report_errors
        assert all(len(entry) <= DEFAULT_LIMITS.max_error_length for entry in report.metadata.errors)
    if relative in NOTES:
        assert [entry for report in aggregates for entry in report.metadata.errors] == NOTES[relative]


def test_every_rejection_in_the_table_exists() -> None:
    assert set(REJECTED) <= set(FILES)
    assert set(RECOVERED) <= set(FILES)
    assert set(NOTES) <= set(FILES)


def test_recovered_files_read_what_looked_invalid() -> None:
    for relative in sorted(RECOVERED):
        report = extract_reports((CORPUS / relative).read_bytes()).reports[0]
        assert report.kind == "aggregate"
        if "upper_cased_pass" in relative:
            assert report.records[0].policy_dkim == "pass"
            assert report.records[0].policy_dkim_raw is None  # a case difference is not worth keeping
        elif "known-invalid" in relative:
            assert report.records == []
            assert report.metadata.report_id == "CWRU.1738124277.4715254"
        else:
            assert report.records[0].reasons == ()


def test_ikea_report_wrapped_in_an_unclosed_schema_element() -> None:
    """IKEA sent <feedback> inside an <xs:schema> that is never closed; the report itself is complete."""
    path = Path("parsedmarc-samples/aggregate/ikea.com!example.de!1538690400!1538776800.xml")
    report = extract_reports((CORPUS / path).read_bytes()).reports[0]
    assert report.kind == "aggregate"
    assert report.metadata.org_name == "ikea.com"
    assert report.policy_published.domain == "example.de"


def test_failure_reports_are_never_read_as_aggregate_reports() -> None:
    for relative in FILES:
        if relative.startswith(FAILURE_FOLDERS):
            result = extract_reports((CORPUS / relative).read_bytes())
            assert result.quarantine is not None
            assert result.quarantine.code == ReasonCode.FAILURE_REPORT_NOT_SUPPORTED
