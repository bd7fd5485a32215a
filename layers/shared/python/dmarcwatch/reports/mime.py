"""Walking a report mail: every leaf part's decoded bytes, with part count and nesting capped.

The stdlib parser recurses once per nesting level (and slowly), so a hostile mail is measured before it is
parsed: the multipart/message containers it declares and the boundary lines it holds bound both its parts
and its depth. The parsed tree is then walked with an explicit stack, never by recursion.

Failure (forensic, RFC 6591 ARF) reports are recognised and not descended into: the message they enclose
is someone else's mail, and nothing in it may be taken for an aggregate report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.errors import MessageError
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.parser import BytesParser

from dmarcwatch.reports.errors import ReasonCode, ReportError
from dmarcwatch.reports.limits import Limits

_CONTAINER_HEADER = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart|message)/")
_BOUNDARY = re.compile(rb"""(?i)\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""")
# A line that may delimit parts: "--" boundary, optionally "--" (closing), optional trailing space.
_DELIMITER_LINE = re.compile(rb"(?m)^--(\S{1,200}?)(?:--)?[ \t]*\r?$")
_FAILURE_SUBJECT = re.compile(r"(?i)\b(?:forensic|failure) report\b")


@dataclass(frozen=True)
class Leaf:
    """A non-container part: where it is in the mail and its transfer-decoded bytes."""

    location: str
    payload: bytes


@dataclass
class MailWalk:
    leaves: list[Leaf]
    # True when the mail (or a part of it) is a failure report, which was not read.
    failure_report: bool


class _HeadersOnce(HeaderRegistry):
    """`policy.default`'s headers, each (name, value) parsed once per mail.

    The parser and the walk ask for a part's Content-Type several times, and the stdlib parses the header
    anew each time (most of a mail's parsing time); header objects are immutable, so one serves them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            header = self._parsed[key] = super().__call__(name, value)
        return header


def walk_mail(raw: bytes, limits: Limits) -> MailWalk:
    _precheck(raw, limits)
    try:
        parser = BytesParser(policy=policy.default.clone(header_factory=_HeadersOnce()))
        return _walk(parser.parsebytes(raw), limits)
    except RecursionError:
        raise ReportError(ReasonCode.NESTING_TOO_DEEP, "MIME parts nested too deeply to parse") from None
    except (MessageError, ValueError, LookupError, TypeError, AttributeError) as error:
        # The stdlib parser reports most damage as defects, but some malformed headers still raise.
        raise ReportError(ReasonCode.MIME_MALFORMED, f"unreadable MIME structure: {error!r}") from None


def _walk(message: Message, limits: Limits) -> MailWalk:
    leaves: list[Leaf] = []
    failure = _is_failure_report(message)
    if failure:
        return MailWalk(leaves, True)
    parts = 0
    stack: list[tuple[Message, int, str]] = [(message, 0, "mail")]
    while stack:
        part, depth, location = stack.pop()
        parts += 1
        if parts > limits.max_mime_parts:
            raise ReportError(ReasonCode.TOO_MANY_MIME_PARTS, f"more than {limits.max_mime_parts} MIME parts")
        if depth > limits.max_mime_depth:
            raise ReportError(
                ReasonCode.NESTING_TOO_DEEP,
                f"MIME parts nested deeper than {limits.max_mime_depth}",
                location=location,
            )
        if part is not message and _is_failure_report(part):
            failure = True
            continue
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            # Pushed in reverse so that parts are visited in document order.
            for number in range(len(children), 0, -1):
                child = children[number - 1]
                stack.append((child, depth + 1, f"{location} > part {number}{_label(child)}"))
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            leaves.append(Leaf(location if part is not message else f"mail body{_label(part)}", payload))
    return MailWalk(leaves, failure)


def _label(part: Message) -> str:
    name = part.get_filename()
    return f" {name!r}" if name else f" ({part.get_content_type()})"


def _precheck(raw: bytes, limits: Limits) -> None:
    """Refuse a mail whose declared structure already exceeds the caps, before the parser recurses into it."""
    containers = len(_CONTAINER_HEADER.findall(raw))
    if containers > limits.max_mime_parts:
        raise ReportError(
            ReasonCode.TOO_MANY_MIME_PARTS,
            f"the mail declares {containers} multipart/message parts (cap {limits.max_mime_parts} parts)",
        )
    boundaries = {quoted or bare for quoted, bare in _BOUNDARY.findall(raw)}
    delimiters = sum(1 for line in _DELIMITER_LINE.finditer(raw) if line.group(1) in boundaries)
    # Every part follows one delimiter line; each multipart also has a closing one.
    if delimiters > limits.max_mime_parts + containers:
        raise ReportError(
            ReasonCode.TOO_MANY_MIME_PARTS,
            f"the mail has {delimiters} MIME boundary lines (cap {limits.max_mime_parts} parts)",
        )


def _is_failure_report(part: Message) -> bool:
    """An ARF failure report: multipart/report of report-type feedback-report, or one with such a part.

    Also a multipart/report without a report type whose subject calls it a forensic or failure report
    (Exim sends those with a plain-text part only).
    """
    content_type = part.get_content_type()
    if content_type == "message/feedback-report":
        return True
    if content_type != "multipart/report":
        return False
    report_type = str(part.get_param("report-type", "") or "").lower()
    if report_type == "feedback-report":
        return True
    children = part.get_payload()
    if isinstance(children, list) and any(
        isinstance(child, Message) and child.get_content_type() == "message/feedback-report"
        for child in children
    ):
        return True
    return not report_type and bool(_FAILURE_SUBJECT.search(str(part.get("subject", ""))))
