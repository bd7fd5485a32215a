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

`<feedback>` is the root, or a child of a root that wraps it (IKEA sent one inside an `<xs:schema>`); a
root that holds the parts of a report itself is a renamed `<feedback>`. Whatever was repaired on the way
(see `deviations.py`) ends up in `metadata.errors`.
"""

from __future__ import annotations

import gc
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from xml.etree.ElementTree import Element
from xml.parsers.expat import errors as expat_errors

from dmarcwatch.reports.aggregate_canonical import CanonicalRecords
from dmarcwatch.reports.aggregate_fields import FEEDBACK_PARTS, FieldReader, canonical_name, split_tag
from dmarcwatch.reports.aggregate_records import RecordReader
from dmarcwatch.reports.deviations import Deviations
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


# Children of a wrapping root looked at for a <feedback> before the document is taken for something else.
_MAX_WRAPPER_CHILDREN = 16


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
        self.wrapped = False  # <feedback> is a child of some other root (seen from IKEA)
        self.wrapper_children = 0  # children of that root passed over so far
        self.notes = Deviations(limits.max_report_errors, limits.max_error_length)
        # Set with the container, once its namespace is known: the general reader and its fast path.
        self.reader: RecordReader | None = None
        self.canonical: CanonicalRecords | None = None
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
        for data in refuse_doctype(as_utf8(chunks, self.notes), self.limits, self.notes):
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
        elements = piece.count(b"<") - piece.count(b"</")
        # Comments, CDATA and processing instructions are rare: a one-byte search (memchr) rules them out.
        if b"!" in piece:
            elements -= piece.count(b"<!")
        if b"?" in piece:
            elements -= piece.count(b"<?")
        self.elements += elements
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
        """Find <feedback>: the root, a child of a root that wraps it, or a root holding a report's parts."""
        if not len(self.document):
            return
        root = self.document[0]
        root_name = split_tag(root.tag)[1]
        if canonical_name(root_name) == "feedback":
            self._set_container(root, root_name)
            return
        for position, child in enumerate(root):
            name = split_tag(child.tag)[1]
            canonical = canonical_name(name)
            if canonical == "feedback":
                self.notes.note(f"<feedback> read from inside <{root_name[:40]}>")
                self.wrapped = True
                del root[:position]  # what preceded it is done with
                self._set_container(root[0], name)
                return
            if canonical in FEEDBACK_PARTS and position == 0 and self.wrapper_children == 0:
                self.notes.note(f"root element <{root_name[:40]}> read as <feedback>")
                self._set_container(root, "feedback")
                return
        # Nothing yet: forget the children that are complete, so a wrapper costs no memory.
        if len(root) > 1:
            self.wrapper_children += len(root) - 1
            del root[:-1]
            if self.wrapper_children > _MAX_WRAPPER_CHILDREN:
                raise ReportError(
                    ReasonCode.NOT_A_REPORT, f"root element is <{root_name[:40]}>, not <feedback>"
                )

    def _set_container(self, feedback: Element, local: str) -> None:
        self.container = feedback
        if local != "feedback":
            self.notes.note(f"element <{local[:40]}> read as <feedback>")
        # Elements count when in no namespace, in the namespace of <feedback> (DMARCbis, or any other a
        # reporter used) or in a DMARC namespace; a vendor extension in its own namespace is ignored even
        # where its local name is one of ours.
        fields = FieldReader(split_tag(feedback.tag)[0], self.limits, self.notes)
        self.reader = RecordReader(fields)
        self.canonical = CanonicalRecords(fields)

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
        end = self.tail.rstrip().lower()
        return end.endswith(b">") and end[:-1].rstrip().endswith((b"</feedback", b":feedback"))

    def _xml_error(self, error: ET.ParseError) -> ReportError:
        if self.container is None and b"feedback" not in self.head.lower():
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
        assert self.reader is not None  # set with the container
        assert self.canonical is not None
        records = self.reader
        canonical = self.canonical.read
        reader = records.fields
        known = reader.known
        found = self.records
        for child in feedback[:done]:
            name = known.get(child.tag) or reader.name(child.tag)
            if name == "record":
                found.append(canonical(child) or records.record(child, len(found)))
            elif name == "report_metadata":
                self._metadata(reader.metadata(child))
            elif name == "policy_published":
                self._policy(reader.policy(child))
            elif name == "version":
                self.version = reader.leaf(child, "version") or None
        del feedback[:done]

    def _metadata(self, metadata: ReportMetadata) -> None:
        if self.metadata is None:
            self.metadata = metadata
        elif metadata.report_id == self.metadata.report_id:
            self.notes.note("<report_metadata> repeated; the first one read")
        else:
            raise invalid("report_metadata", "appears twice, with different report ids")

    def _policy(self, policy: PolicyPublished) -> None:
        if self.policy is None:
            self.policy = policy
            assert self.reader is not None
            self.reader.policy_domain = policy.domain
        elif policy.domain == self.policy.domain:
            self.notes.note("<policy_published> repeated; the first one read")
        else:
            raise invalid("policy_published", "appears twice, for different domains")

    def _report(self) -> AggregateReport:
        if self.metadata is None:
            raise invalid("report_metadata", "missing")
        if self.policy is None:
            raise invalid("policy_published", "missing")
        assert self.reader is not None
        self.reader.finish(self.policy.domain)
        metadata = self.metadata
        unlisted = self.reader.fields.errors_unlisted
        if self.notes or unlisted:
            metadata.errors = self.notes.entries(metadata.errors, unlisted)
        return AggregateReport(
            version=self.version, metadata=metadata, policy_published=self.policy, records=self.records
        )
