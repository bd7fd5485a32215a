"""What stands between untrusted bytes and expat: one encoding, and no document type declaration.

1. `as_utf8` turns any declared or detected encoding into validated UTF-8 (invalid bytes are
   `xml_invalid_encoding`; an encoding Python does not know is `xml_unsupported_encoding`), so everything
   after it, expat included, sees a single encoding.
2. `refuse_doctype` reads the prolog (declaration, comments, processing instructions) up to the root
   element and refuses any `<!DOCTYPE`: entities can only be declared in a DTD, so without one there is no
   billion laughs, no external entity (XXE) and nothing to fetch. This is stricter than defusedxml's policy
   (which admits a DTD without entity declarations) and lets the fast C parser do the rest, because expat
   itself rejects a DOCTYPE anywhere after the root element starts.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from dmarcwatch.reports.errors import ReasonCode, ReportError
from dmarcwatch.reports.limits import Limits
from dmarcwatch.reports.sniff import peek

_DECLARATION = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]{0,40})[\"']")
_DECLARED_ENCODING = re.compile(r"(<\?xml\b[^>]*?\bencoding\s*=\s*)([\"'])[^\"']*\2")
_WHITESPACE = b" \t\r\n"
_NAME_END = re.compile(rb"[\s\[>]")


def _detect(head: bytes) -> tuple[str, int]:
    """The encoding of a document from its first bytes (XML 1.0 appendix F) and the length of its BOM."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return ("utf-32-le" if head[0] == 0xFF else "utf-32-be"), 4
    if head.startswith(b"\xff\xfe"):
        return "utf-16-le", 2
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be", 2
    if head.startswith(b"<\x00\x00\x00"):
        return "utf-32-le", 0
    if head.startswith(b"\x00\x00\x00<"):
        return "utf-32-be", 0
    if head.startswith(b"<\x00"):
        return "utf-16-le", 0
    if head.startswith(b"\x00<"):
        return "utf-16-be", 0
    declared = _DECLARATION.match(head)
    return (declared.group(1).decode("ascii") if declared else "utf-8"), 0


def as_utf8(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The document re-encoded as UTF-8 without a BOM, its declaration saying so.

    UTF-8 input is only validated (decoded and thrown away, which is cheap) and passed on unchanged.
    """
    head, chunks = peek(chunks, 1024)
    name, bom = _detect(head)
    try:
        # Decoding refuses codecs that are not text encodings (zlib, base64, ...): a document must not
        # be able to pick a decompressor for itself by declaring encoding="zlib".
        b"<".decode(name, "ignore")
        codec = codecs.lookup(name)
    except (LookupError, UnicodeError):
        raise ReportError(ReasonCode.XML_UNSUPPORTED_ENCODING, f"unknown encoding {name!r}") from None
    decoder = codec.incrementaldecoder("strict")
    first = True
    offset = 0
    for chunk in chunks:
        if first and bom:
            chunk = chunk[bom:]
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise _encoding_error(codec.name, offset + error.start) from None
        offset += len(chunk)
        if codec.name == "utf-8":
            yield chunk
        else:
            if first:
                text = _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text, count=1)
            yield text.encode("utf-8")
        first = False
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise _encoding_error(codec.name, offset + error.start) from None
    if tail and codec.name != "utf-8":
        yield tail.encode("utf-8")


def _encoding_error(encoding: str, position: int) -> ReportError:
    return ReportError(
        ReasonCode.XML_INVALID_ENCODING, f"bytes that are not valid {encoding} at byte offset {position}"
    )


def refuse_doctype(chunks: Iterator[bytes], limits: Limits) -> Iterator[bytes]:
    """Pass a UTF-8 document through once its prolog is known to hold no DOCTYPE.

    An HTML DOCTYPE (a mail body) is `not_a_report`; any other is `xml_entities_forbidden`. Text before the
    root that is not markup is left to expat, which rejects it.
    """
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if _prolog_done(buffer):
            break
        if len(buffer) > limits.max_prolog_bytes:
            raise ReportError(
                ReasonCode.XML_MALFORMED, f"no root element in the first {limits.max_prolog_bytes} bytes"
            )
    # Expat refuses whitespace before the XML declaration; a stray newline there changes nothing.
    buffer = buffer.lstrip(b" \t\r\n")
    if buffer:
        yield buffer
    yield from chunks


def _prolog_done(data: bytes) -> bool:
    """True once the root element (or something that is not prolog) is reached; raises on a DOCTYPE."""
    at = 0
    size = len(data)
    while True:
        while at < size and data[at] in _WHITESPACE:
            at += 1
        if at >= size:
            return False
        if data.startswith(b"<?", at):
            end, close = data.find(b"?>", at + 2), 2
        elif data.startswith(b"<!--", at):
            end, close = data.find(b"-->", at + 4), 3
        elif data.startswith(b"<!", at):
            if size - at < 10:
                return False
            if data[at + 2 : at + 9].upper() == b"DOCTYPE":
                _refuse(data[at + 9 : at + 200])
            return True  # some other declaration: expat reports it as malformed
        else:
            return True  # the root element, or text that expat will refuse
        if end < 0:
            return False
        at = end + close


def _refuse(after_keyword: bytes) -> None:
    name = _NAME_END.split(after_keyword.lstrip(), maxsplit=1)[0]
    if name.lower() == b"html":
        raise ReportError(ReasonCode.NOT_A_REPORT, "an HTML document")
    raise ReportError(
        ReasonCode.XML_ENTITIES_FORBIDDEN,
        "the document has a DOCTYPE; DTDs and entities are refused (billion laughs, external entities)",
    )
