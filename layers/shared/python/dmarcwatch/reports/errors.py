"""Reason codes for a report that cannot be taken, and the exception that carries one.

Every way an input can fail has its own code so that a quarantined mail says precisely why (and an operator
can decide whether reprocessing it with other limits makes sense) without reading free text.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    # The input as a whole.
    EMPTY_FILE = "empty_file"
    INPUT_TOO_LARGE = "input_too_large"
    NOT_A_REPORT = "not_a_report"
    NO_REPORT_FOUND = "no_report_found"
    FAILURE_REPORT_NOT_SUPPORTED = "failure_report_not_supported"
    # MIME.
    MIME_MALFORMED = "mime_malformed"
    TOO_MANY_MIME_PARTS = "too_many_mime_parts"
    NESTING_TOO_DEEP = "nesting_too_deep"
    # Archives and compression.
    EMPTY_ARCHIVE = "empty_archive"
    ARCHIVE_CORRUPT = "archive_corrupt"
    ARCHIVE_TRUNCATED = "archive_truncated"
    ARCHIVE_ENCRYPTED = "archive_encrypted"
    ARCHIVE_UNSUPPORTED = "archive_unsupported"
    TOO_MANY_MEMBERS = "too_many_members"
    DECOMPRESSED_SIZE_EXCEEDED = "decompressed_size_exceeded"
    COMPRESSION_RATIO_EXCEEDED = "compression_ratio_exceeded"
    # XML.
    XML_ENTITIES_FORBIDDEN = "xml_entities_forbidden"
    XML_TRUNCATED = "xml_truncated"
    XML_MALFORMED = "xml_malformed"
    XML_INVALID_ENCODING = "xml_invalid_encoding"
    XML_UNSUPPORTED_ENCODING = "xml_unsupported_encoding"
    XML_TOO_DEEP = "xml_too_deep"
    ELEMENT_COUNT_EXCEEDED = "element_count_exceeded"
    TEXT_TOO_LONG = "text_too_long"
    # JSON (SMTP TLS reports).
    JSON_MALFORMED = "json_malformed"
    # A well-formed document that is not a valid report.
    INVALID_REPORT = "invalid_report"


# Codes that describe the input being harmless but not something to count (as opposed to a broken or hostile
# report): a part of a mail with one of these is skipped while the other parts are still read.
SKIPPABLE: frozenset[ReasonCode] = frozenset(
    {ReasonCode.EMPTY_FILE, ReasonCode.NOT_A_REPORT, ReasonCode.EMPTY_ARCHIVE}
)


class ReportError(Exception):
    """Why an input (or one part of it) yields no report.

    `field` names the offending element for `invalid_report` (e.g. `records[3].row.count`); `location` says
    where in the input the part was (e.g. `part 2 'report.zip' > member 'report.xml'`).
    """

    def __init__(
        self, code: ReasonCode, message: str, *, field: str | None = None, location: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.location = location

    def __str__(self) -> str:
        where = f" [{self.location}]" if self.location else ""
        return f"{self.code.value}: {self.message}{where}"


def invalid(field: str, message: str) -> ReportError:
    return ReportError(ReasonCode.INVALID_REPORT, f"{field}: {message}", field=field)
