"""What stands between untrusted bytes and expat: one encoding, and no document type declaration.

1. `as_utf8` turns any declared or detected encoding into validated UTF-8 (invalid bytes are
   `xml_invalid_encoding`; an encoding Python does not know is `xml_unsupported_encoding`), so everything
   after it, expat included, sees a single encoding. A declaration that cannot be true (UTF-16 declared in
   a document whose declaration reads as ASCII) is overruled by the bytes, with a note.
2. `refuse_doctype` reads the prolog (declaration, comments, processing instructions) up to the root
   element and refuses any `<!DOCTYPE`: entities can only be declared in a DTD, so without one there is no
   billion laughs, no external entity (XXE) and nothing to fetch. This is stricter than defusedxml's policy
   (which admits a DTD without entity declarations) and lets the fast C parser do the rest, because expat
   itself rejects a DOCTYPE anywhere after the root element starts. Whitespace before the XML declaration,
   and a declaration placed after a comment, are dropped with a note (expat refuses both).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from dmarcwatch.reports.deviations import Deviations, quoted
from dmarcwatch.reports.errors import ReasonCode, ReportError
from dmarcwatch.reports.limits import Limits
from dmarcwatch.reports.sniff import peek

_DECLARATION = re.compile(rb"<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]{0,40})[\"']")
_DECLARED_ENCODING = re.compile(r"(<\?xml\b[^>]*?\bencoding\s*=\s*)([\"'])[^\"']*\2")
_DECLARED_ENCODING_BYTES = re.compile(_DECLARED_ENCODING.pattern.encode())
_WHITESPACE = b" \t\r\n"
_NAME_END = re.compile(rb"[\s\[>]")
# Encodings whose declaration could not be read as ASCII: declared in a document that reads as ASCII, they
# are wrong, and the document is read as UTF-8.
_WIDE = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})


def _declared(head: bytes) -> str | None:
    """The encoding named by the XML declaration, also one placed after comments (seen in the wild)."""
    at = 0
    while True:
        while at < len(head) and head[at] in _WHITESPACE:
            at += 1
        if not head.startswith(b"<!--", at):
            break
        end = head.find(b"-->", at + 4)
        if end < 0:
            return None
        at = end + 3
    declared = _DECLARATION.match(head, at)
    return declared.group(1).decode("ascii") if declared else None


def _detect(head: bytes) -> tuple[str | None, int]:
    """The encoding of a document from its first bytes (XML 1.0 appendix F) and the length of its BOM;
    None when they do not tell (the declaration does, or it is UTF-8)."""
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
    return None, 0


def as_utf8(chunks: Iterator[bytes], notes: Deviations) -> Iterator[bytes]:
    """The document re-encoded as UTF-8 without a BOM, its declaration saying so.

    UTF-8 input is only validated (decoded and thrown away, which is cheap) and passed on unchanged.
    """
    head, chunks = peek(chunks, 1024)
    detected, bom = _detect(head)
    declared = _declared(head[bom:])
    name = detected or declared or "utf-8"
    try:
        # Decoding refuses codecs that are not text encodings (zlib, base64, ...): a document must not
        # be able to pick a decompressor for itself by declaring encoding="zlib".
        b"<".decode(name, "ignore")
        codec = codecs.lookup(name)
    except (LookupError, UnicodeError):
        raise ReportError(ReasonCode.XML_UNSUPPORTED_ENCODING, f"unknown encoding {name!r}") from None
    overruled = False  # the declaration names another encoding than the one read: rewritten to UTF-8
    if codec.name in _WIDE and declared is not None:
        # The declaration was read as ASCII, so the document is not in the wide encoding it names.
        notes.note(f"declared encoding {quoted(declared)}, but the document is 8-bit; read as UTF-8")
        codec, overruled = codecs.lookup("utf-8"), True
    elif codec.name == "ascii":
        codec, overruled = codecs.lookup("utf-8"), True  # a subset of UTF-8: the same bytes, more accepted
    elif bom and declared is not None and _codec_name(declared) != codec.name:
        notes.note(f"declared encoding {quoted(declared)}, but its byte order mark says UTF-8; read as UTF-8")
        overruled = True
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
            if first and overruled:
                # Only the head: a declaration is at the start, and the pattern is linear there only.
                chunk = _DECLARED_ENCODING_BYTES.sub(rb"\1\2UTF-8\2", chunk[:1024], count=1) + chunk[1024:]
            yield chunk
        else:
            if first:
                text = _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text[:1024], count=1) + text[1024:]
            yield text.encode("utf-8")
        first = False
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise _encoding_error(codec.name, offset + error.start) from None
    if tail and codec.name != "utf-8":
        yield tail.encode("utf-8")


def _codec_name(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _encoding_error(encoding: str, position: int) -> ReportError:
    return ReportError(
        ReasonCode.XML_INVALID_ENCODING, f"bytes that are not valid {encoding} at byte offset {position}"
    )


def refuse_doctype(chunks: Iterator[bytes], limits: Limits, notes: Deviations) -> Iterator[bytes]:
    """Pass a UTF-8 document through once its prolog is known to hold no DOCTYPE.

    An HTML DOCTYPE (a mail body) is `not_a_report`; any other is `xml_entities_forbidden`. Text before the
    root that is not markup is left to expat, which rejects it.
    """
    buffer = b""
    misplaced: list[tuple[int, int]] = []
    for chunk in chunks:
        buffer += chunk
        misplaced.clear()
        if _prolog_done(buffer, misplaced):
            break
        if len(buffer) > limits.max_prolog_bytes:
            raise ReportError(
                ReasonCode.XML_MALFORMED, f"no root element in the first {limits.max_prolog_bytes} bytes"
            )
    # Expat refuses an XML declaration anywhere but at the very start; whitespace or a comment before it
    # changes nothing, so the declaration is dropped (as_utf8 has already read its encoding).
    if misplaced:
        kept, last = [], 0
        for start, end in misplaced:
            kept.append(buffer[last:start])
            last = end
        buffer = b"".join([*kept, buffer[last:]])
        notes.note("XML declaration after a comment ignored")
    stripped = buffer.lstrip(_WHITESPACE)
    if len(stripped) < len(buffer) and stripped.startswith(b"<?xml"):
        notes.note("whitespace before the XML declaration ignored")
    if stripped:
        yield stripped
    yield from chunks


def _prolog_done(data: bytes, misplaced: list[tuple[int, int]]) -> bool:
    """True once the root element (or something that is not prolog) is reached; raises on a DOCTYPE.

    XML declarations found after something other than whitespace are added to `misplaced` as (start, end).
    """
    at = 0
    size = len(data)
    first = -1  # where the first item of the prolog starts
    while True:
        while at < size and data[at] in _WHITESPACE:
            at += 1
        if at >= size:
            return False
        if first < 0:
            first = at
        if data.startswith(b"<?", at):
            end, close = data.find(b"?>", at + 2), 2
            if end >= 0 and at > first and _is_declaration(data, at):
                misplaced.append((at, end + close))
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


def _is_declaration(data: bytes, at: int) -> bool:
    return data[at + 2 : at + 5] == b"xml" and data[at + 5 : at + 6] in (b" ", b"\t", b"\r", b"\n", b"?")


def _refuse(after_keyword: bytes) -> None:
    name = _NAME_END.split(after_keyword.lstrip(), maxsplit=1)[0]
    if name.lower() == b"html":
        raise ReportError(ReasonCode.NOT_A_REPORT, "an HTML document")
    raise ReportError(
        ReasonCode.XML_ENTITIES_FORBIDDEN,
        "the document has a DOCTYPE; DTDs and entities are refused (billion laughs, external entities)",
    )
