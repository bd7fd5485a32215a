"""What a blob of bytes is, told by its first bytes only.

MIME types and file names in report mails are unreliable (`application/octet-stream` zips, `.xml` names on
gzip data, `text/plain` XML bodies), so they are never consulted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

# Chunks fed to the decompressors and the XML parser: the caps are checked once per chunk, so this also
# bounds how far past a cap any single step can go.
CHUNK = 64 * 1024

SNIFF_BYTES = 1024
_MAX_LEADING_SPACE = 1024 * 1024
_WHITESPACE = b" \t\r\n"
_BOMS_UTF16 = (b"\xff\xfe", b"\xfe\xff")
# A mail starts with a header field (RFC 5322 field name: printable ASCII but colon), or an mbox "From " line.
_HEADER_LINE = re.compile(rb"^(?:[!-9;-~]{1,76}:|From )")


class FileKind(StrEnum):
    ZIP = "zip"
    GZIP = "gzip"
    XML = "xml"
    JSON = "json"
    EMPTY = "empty"
    UNKNOWN = "unknown"


def sniff(head: bytes) -> FileKind:
    """The kind of a blob from its first bytes (give at least a few hundred when there are).

    EMPTY means only whitespace so far; `identify` tells an empty blob from a long run of leading space.
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return FileKind.ZIP
    if head.startswith(b"\x1f\x8b"):
        return FileKind.GZIP
    if head.startswith(_BOMS_UTF16) or head[:2] in (b"<\x00", b"\x00<"):
        return FileKind.XML  # UTF-16 XML, with or without a byte order mark
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip(_WHITESPACE)
    if not body:
        return FileKind.EMPTY
    if body.startswith(b"<"):
        return FileKind.XML
    if body.startswith((b"{", b"[")):
        return FileKind.JSON
    return FileKind.UNKNOWN


def identify(chunks: Iterator[bytes]) -> tuple[FileKind, Iterator[bytes]]:
    """The kind of a stream, and the stream still unread. Leading whitespace is looked past, within reason."""
    want = SNIFF_BYTES
    while True:
        head, chunks = peek(chunks, want)
        kind = sniff(head)
        if kind is not FileKind.EMPTY or len(head) < want:
            return kind, chunks
        if want >= _MAX_LEADING_SPACE:
            return FileKind.UNKNOWN, chunks
        want *= 16


def looks_like_mail(head: bytes) -> bool:
    return _HEADER_LINE.match(head) is not None


def split(data: bytes | memoryview, size: int = CHUNK) -> Iterator[bytes]:
    """`data` in pieces of at most `size` bytes."""
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def peek(chunks: Iterator[bytes], want: int = CHUNK) -> tuple[bytes, Iterator[bytes]]:
    """The first `want` bytes of a stream (fewer if it is shorter) and the whole stream, still unread."""
    taken: list[bytes] = []
    size = 0
    for chunk in chunks:
        if chunk:
            taken.append(chunk)
            size += len(chunk)
        if size >= want:
            break
    head = b"".join(taken)

    def replay() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return head[:want], replay()
