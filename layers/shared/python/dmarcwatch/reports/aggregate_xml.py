"""Streaming parser for aggregate DMARC reports (RFC 7489 and RFC 9990, with or without a namespace).

The document is fed in pieces to ElementTree's C parser and tree builder (expat underneath, behind
`xml_guard`). After each piece, every child of `<feedback>` that is complete (one that a later sibling
follows) is turned into a model and removed from the tree, so the tree never holds more than a piece's worth
of records: memory stays flat however many records a report has.

This is what XMLPullParser does, minus its per-element event queue (a quarter of the time or more): the
tree builder is given a root of our own before the document starts, so the document is reachable while it
is built. Start tags are counted on the bytes, and the depth is read off the chain of last children, where
a nesting attack shows while it is still open.

Caps: elements, depth, the length of every text (checked on the fields read and, for everything else,
bounded by refusing a long run of bytes without markup), and the caps of the streams feeding it.
"""

from __future__ import annotations

import gc
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from xml.etree.ElementTree import Element
from xml.parsers.expat import errors as expat_errors

from dmarcwatch.reports.aggregate_fields import NAMES, FieldReader
from dmarcwatch.reports.errors import ReasonCode, ReportError, invalid
from dmarcwatch.reports.limits import DEFAULT_LIMITS, Limits
from dmarcwatch.reports.models import AggregateRecord, AggregateReport, PolicyPublished, ReportMetadata
from dmarcwatch.reports.sniff import CHUNK
from dmarcwatch.reports.xml_guard import as_utf8, refuse_doctype


def _code(name: str) -> int:
    return int(expat_errors.codes[getattr(expat_errors, name)])


_TRUNCATION = {
    _code("XML_ERROR_NO_ELEMENTS"),
    _code("XML_ERROR_UNCLOSED_TOKEN"),
    _code("XML_ERROR_PARTIAL_CHAR"),
}
_JUNK_AFTER_ROOT = _code("XML_ERROR_JUNK_AFTER_DOC_ELEMENT")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_aggregate_xml(chunks: Iterable[bytes], *, limits: Limits = DEFAULT_LIMITS) -> AggregateReport:
    """Parse one aggregate report from its XML bytes (given whole or in pieces).

    Raises ReportError: `not_a_report` when the document is not a `<feedback>` at all, `invalid_report`
    with the field when a required element is missing or wrong, and the XML and limit codes otherwise.
    """
    with _cyclic_gc_paused():
        return _AggregateParser(limits).parse(iter(chunks))


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a report is parsed.

    Parsing allocates millions of short-lived elements and keeps every record it builds; none of it forms a
    reference cycle, so reference counting frees all of it, and the collector would only traverse the
    growing list of records again and again (a third of the time of a 100,000-record report). The previous
    state is restored afterwards; garbage from elsewhere is merely collected later.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# An element of our own, opened on the tree builder before the document starts: the document's root becomes
# its child, so the tree is reachable while it is being built, without per-element parser events.
_DOCUMENT = "dmarcwatch-document"


class _AggregateParser:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_text = limits.max_text_length
        builder = ET.TreeBuilder()
        self.document = builder.start(_DOCUMENT, {})
        self.parser = ET.XMLParser(target=builder)  # noqa: S314 - fed only through xml_guard (no DTD)
        self.container: Element | None = None  # <feedback>
        self.wrapped = False  # <feedback> is the first child of some other root (seen from IKEA)
        self.reader: FieldReader | None = None  # set with the container, once its namespace is known
        self.elements = 0
        self.head = b""  # the first bytes, to tell a broken report from a document that is none
        self.tail = b""  # the last bytes, to recognise a document that ends with </feedback>
        self.version: str | None = None
        self.metadata: ReportMetadata | None = None
        self.policy: PolicyPublished | None = None
        self.records: list[AggregateRecord] = []

    # -- feeding ------------------------------------------------------------------------------------------

    def parse(self, chunks: Iterator[bytes]) -> AggregateReport:
        run = 0  # bytes since the last "<": bounds every text, including ones never read
        max_run = 4 * self.max_text + 1024
        padded = False  # NUL bytes ended a piece: fine at the very end (padding), an error before more data
        finished = False
        for data in refuse_doctype(as_utf8(chunks), self.limits):
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                stripped = piece.rstrip(b"\x00")
                if padded and stripped:
                    raise ReportError(ReasonCode.XML_MALFORMED, "NUL bytes inside the document")
                padded = padded or len(stripped) < len(piece)
                piece = stripped
                run = self._check_run(piece, run, max_run)
                if len(self.head) < 1024:
                    self.head += piece[:1024]
                self.tail = (self.tail + piece[-64:])[-64:]
                finished = not self._feed(piece)
                if finished:
                    break
            if finished:
                break
        if not finished:
            try:
                self.parser.close()
            except ET.ParseError as error:
                if not (self.wrapped and error.code in _TRUNCATION and self._ends_feedback()):
                    raise self._xml_error(error) from None
            if self.container is None:
                self._find_container()
        if self.container is None:
            raise ReportError(ReasonCode.NOT_A_REPORT, "no <feedback> element")
        self._consume(self.container, keep_last=False)
        return self._report()

    def _feed(self, piece: bytes) -> bool:
        """Parse one piece and take in what it completed; False once the document has ended."""
        # Start tags, counted before they are parsed: every "<" that opens neither an end tag, a comment, a
        # declaration nor a processing instruction (a "<" inside a comment counts too: an upper bound).
        self.elements += piece.count(b"<") - piece.count(b"</") - piece.count(b"<!") - piece.count(b"<?")
        if self.elements > self.limits.max_xml_elements:
            raise ReportError(
                ReasonCode.ELEMENT_COUNT_EXCEEDED, f"more than {self.limits.max_xml_elements} elements"
            )
        try:
            self.parser.feed(piece)
        except ET.ParseError as error:
            if error.code == _JUNK_AFTER_ROOT:
                if self.container is None:
                    self._find_container()
                if self.container is not None:
                    return False  # the root element closed; what follows it is ignored
            raise self._xml_error(error) from None
        self._check_depth()
        if self.container is None:
            self._find_container()
        if self.container is not None:
            self._consume(self.container, keep_last=True)
        return True

    def _check_run(self, piece: bytes, run: int, max_run: int) -> int:
        first = piece.find(b"<")
        if first < 0:
            run += len(piece)
        else:
            if run + first > max_run:
                raise self._too_long()
            run = len(piece) - piece.rfind(b"<") - 1
        if run > max_run:
            raise self._too_long()
        return run

    def _too_long(self) -> ReportError:
        return ReportError(
            ReasonCode.TEXT_TOO_LONG,
            f"a text of more than {self.max_text} characters (or bytes without markup)",
        )

    def _find_container(self) -> None:
        """Find <feedback>: the root, or the first child of a root that wraps it."""
        if not len(self.document):
            return
        root = self.document[0]
        if _local(root.tag) == "feedback":
            self._set_container(root)
        elif len(root):
            if _local(root[0].tag) != "feedback":
                raise ReportError(
                    ReasonCode.NOT_A_REPORT, f"root element is <{_local(root.tag)}>, not <feedback>"
                )
            self.wrapped = True
            self._set_container(root[0])

    def _set_container(self, feedback: Element) -> None:
        self.container = feedback
        # Elements count when in no namespace or in the namespace of <feedback> (DMARCbis, or any other a
        # reporter used); a vendor extension in its own namespace is ignored even where its local name is
        # one of ours.
        namespace = feedback.tag[1:].partition("}")[0] if feedback.tag.startswith("{") else ""
        known = {name: name for name in NAMES}
        if namespace:
            known.update({f"{{{namespace}}}{name}": name for name in NAMES})
        self.reader = FieldReader(known, self.limits.max_text_length)

    def _check_depth(self) -> None:
        depth = 0
        node = self.document
        while len(node):
            node = node[-1]
            depth += 1
            if depth > self.limits.max_xml_depth:
                raise ReportError(
                    ReasonCode.XML_TOO_DEEP, f"elements nested deeper than {self.limits.max_xml_depth}"
                )

    def _ends_feedback(self) -> bool:
        end = self.tail.rstrip()
        return end.endswith(b">") and end[:-1].rstrip().endswith((b"</feedback", b":feedback"))

    def _xml_error(self, error: ET.ParseError) -> ReportError:
        if self.container is None and b"feedback" not in self.head:
            # Broken before any <feedback> and with no sign of one: some other document (an HTML body).
            return ReportError(ReasonCode.NOT_A_REPORT, f"not well-formed XML: {error}")
        if error.code in _TRUNCATION:
            return ReportError(ReasonCode.XML_TRUNCATED, f"the XML ends before the report does ({error})")
        return ReportError(ReasonCode.XML_MALFORMED, f"not well-formed XML: {error}")

    # -- the tree -----------------------------------------------------------------------------------------

    def _consume(self, feedback: Element, *, keep_last: bool) -> None:
        done = len(feedback) - 1 if keep_last else len(feedback)
        if done <= 0:
            return
        reader = self.reader
        assert reader is not None  # set with the container
        known = reader.known
        records = self.records
        for child in feedback[:done]:
            name = known.get(child.tag)
            if name == "record":
                records.append(reader.record(child, len(records)))
            elif name == "report_metadata":
                if self.metadata is not None:
                    raise invalid("report_metadata", "appears twice")
                self.metadata = reader.metadata(child)
            elif name == "policy_published":
                if self.policy is not None:
                    raise invalid("policy_published", "appears twice")
                self.policy = reader.policy(child)
            elif name == "version":
                self.version = reader.leaf(child, "version") or None
        del feedback[:done]

    def _report(self) -> AggregateReport:
        if self.metadata is None:
            raise invalid("report_metadata", "missing")
        if self.policy is None:
            raise invalid("policy_published", "missing")
        return AggregateReport(
            version=self.version, metadata=self.metadata, policy_published=self.policy, records=self.records
        )
