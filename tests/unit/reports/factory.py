"""Builders for report documents, mails, archives and hostile inputs used by the report tests."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "dmarc"

RECORD = (
    "<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
    "<policy_evaluated><disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated>"
    "</row><identifiers><header_from>example.com</header_from>"
    "<envelope_from>bounce{group}.example.com</envelope_from></identifiers>"
    "<auth_results><dkim><domain>example.com</domain><selector>s{group}</selector><result>{dkim}</result></dkim>"
    "<spf><domain>bounce{group}.example.com</domain><scope>mfrom</scope><result>{spf}</result></spf>"
    "</auth_results></record>\n"
)


def metadata(report_id: str = "report-1", org_name: str = "receiver.example") -> str:
    return (
        f"<report_metadata><org_name>{org_name}</org_name><email>dmarc@receiver.example</email>"
        f"<report_id>{report_id}</report_id>"
        "<date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>"
        "<policy_published><domain>example.com</domain><adkim>r</adkim><aspf>r</aspf><p>none</p>"
        "<pct>100</pct></policy_published>\n"
    )


def record(index: int, count: int = 1, dkim: str = "pass", spf: str = "fail", ip: str | None = None) -> str:
    address = ip or f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    return RECORD.format(ip=address, count=count, dkim=dkim, spf=spf, group=index % 50)


def report(
    records: int = 2, *, body: str | None = None, namespace: str | None = None, head: str | None = None
) -> bytes:
    """A complete aggregate report; `body` replaces the generated metadata and records."""
    content = (
        body if body is not None else metadata() + "".join(record(i, count=i % 7 + 1) for i in range(records))
    )
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n' if head is None else head
    return f"{prolog}<feedback{xmlns}>\n<version>1.0</version>\n{content}</feedback>\n".encode()


def large_report(records: int) -> bytes:
    """A report with `records` records, built in pieces (tens of MB)."""
    out = io.BytesIO()
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n')
    out.write(metadata("large-1").encode())
    batch: list[str] = []
    for index in range(records):
        batch.append(record(index, count=index % 7 + 1))
        if len(batch) == 1000:
            out.write("".join(batch).encode())
            batch.clear()
    out.write("".join(batch).encode())
    out.write(b"</feedback>\n")
    return out.getvalue()


def expected_count(records: int) -> int:
    return sum(index % 7 + 1 for index in range(records))


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def mail(*attachments: tuple[str, str, bytes], text: str | None = "A DMARC aggregate report.") -> bytes:
    """A multipart mail with an optional text body and (filename, mime type, data) attachments."""
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@receiver.example"
    message["To"] = "rua@reports.example"
    message["Subject"] = "Report domain: example.com Submitter: receiver.example"
    if text is not None:
        message.set_content(text)
    for filename, mime_type, data in attachments:
        maintype, subtype = mime_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def nested_mime(depth: int) -> bytes:
    """A mail whose multipart/mixed parts nest `depth` deep around one text part."""
    head = [b"From: a@example.com\r\nTo: b@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"]
    tail = []
    for level in range(depth):
        head.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level))
        tail.append(b"\r\n--b%d--\r\n" % level)
    return b"".join(head) + b"Content-Type: text/plain\r\n\r\nhello" + b"".join(reversed(tail))


# -- bombs: deflate streams assembled from one repeated block, so a 1 GB bomb costs milliseconds ---------

# What the bombs inflate to: a report opening, then elements padded with spaces (cheap for the XML parser,
# and never a long run without markup), so that the decompression caps are what stops them.
BOMB_PREFIX = b'<?xml version="1.0"?>\n<feedback>'
BOMB_UNIT = b"<x/>" + b" " * 4092


def _blocks(prefix: bytes, unit: bytes, wbits: int) -> tuple[bytes, bytes, bytes]:
    """(start, block, end) of a deflate stream: start + block * n + end inflates to prefix + (n + 1) MB.

    After a full flush the compressor's history is reset, so a flushed block is self-contained and can be
    repeated verbatim. The trailer (CRC, size) describes only what the compressor saw, which never matters:
    the caps stop inflation long before it.
    """
    megabyte = unit * ((1 << 20) // len(unit))
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    start = compressor.compress(prefix + megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    return start, block, compressor.flush()


def gzip_bomb(megabytes: int, *, prefix: bytes = BOMB_PREFIX, unit: bytes = BOMB_UNIT) -> bytes:
    start, block, end = _blocks(prefix, unit, 31)
    return start + block * (megabytes - 1) + end


def zip_bomb(megabytes: int, *, declared: int | None = None) -> bytes:
    """A zip with one member inflating to `megabytes` MB, declaring `declared` bytes (default: the truth)."""
    start, block, end = _blocks(BOMB_PREFIX, BOMB_UNIT, -15)
    data = start + block * (megabytes - 1) + end
    size = (megabytes << 20) if declared is None else declared
    name = b"bomb.xml"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, len(data), size, len(name), 0)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0,
        0,
        len(data),
        size,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory = central + name
    offset = len(local) + len(name) + len(data)
    end_record = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), offset, 0)
    return local + name + data + directory + end_record


def gz(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)
