"""The entry point: every report in a raw mail or a bare report file, or why there is none.

A mail is walked part by part; each part (and each archive member inside it) is identified by its first
bytes and read as a stream, so a report is parsed as it is inflated. Parts that are harmless but not
reports (text bodies, HTML, logos) are skipped and listed; anything broken, hostile or over a limit
quarantines the whole input with its reason, so no report is ever counted from half a mail.
"""

from __future__ import annotations

from collections.abc import Iterator

from dmarcwatch.reports.aggregate_xml import parse_aggregate_xml
from dmarcwatch.reports.archives import gunzip, zip_members
from dmarcwatch.reports.errors import SKIPPABLE, ReasonCode, ReportError
from dmarcwatch.reports.limits import DEFAULT_LIMITS, Budget, Limits
from dmarcwatch.reports.mime import walk_mail
from dmarcwatch.reports.models import ExtractionResult, Rejection, Report
from dmarcwatch.reports.sniff import SNIFF_BYTES, FileKind, identify, looks_like_mail, sniff, split
from dmarcwatch.reports.tlsrpt import parse_tls_report


def extract_reports(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ExtractionResult:
    """Every aggregate DMARC and SMTP TLS report in `raw`: an RFC 5322 mail, or a zip, gzip, XML or JSON file.

    Never raises for bad input: a result with `quarantine` set carries the reason code, a message, and
    where in the input the problem is.
    """
    extraction = _Extraction(limits)
    try:
        return extraction.run(raw)
    except ReportError as error:
        return ExtractionResult(quarantine=rejection(error), skipped=extraction.skipped)


def rejection(error: ReportError) -> Rejection:
    return Rejection(code=error.code, message=error.message, field=error.field, location=error.location)


class _Extraction:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.budget = Budget(limits)
        self.reports: list[Report] = []
        self.skipped: list[Rejection] = []

    def run(self, raw: bytes) -> ExtractionResult:
        if len(raw) > self.limits.max_input_bytes:
            raise ReportError(
                ReasonCode.INPUT_TOO_LARGE, f"input of {len(raw)} bytes (cap {self.limits.max_input_bytes})"
            )
        if sniff(raw[:SNIFF_BYTES]) is FileKind.UNKNOWN and looks_like_mail(raw):
            walk = walk_mail(raw, self.limits)
            for leaf in walk.leaves:
                self.read(split(leaf.payload), leaf.location, 0)
            return self.result(is_mail=True, failure_report=walk.failure_report)
        self.read(split(raw), "file", 0)
        return self.result(is_mail=False, failure_report=False)

    def read(self, chunks: Iterator[bytes], location: str, depth: int) -> None:
        """Read one blob (a mail part, an archive member, a decompressed stream) as whatever it is."""
        try:
            kind, chunks = identify(chunks)
            if kind in (FileKind.ZIP, FileKind.GZIP) and depth >= self.limits.max_archive_depth:
                raise ReportError(
                    ReasonCode.NESTING_TOO_DEEP,
                    f"archives nested deeper than {self.limits.max_archive_depth}",
                )
            if kind is FileKind.ZIP:
                self.read_zip(b"".join(chunks), location, depth)
            elif kind is FileKind.GZIP:
                self.read(gunzip(chunks, self.budget, location), f"{location} (gunzipped)", depth + 1)
            elif kind is FileKind.XML:
                self.found(parse_aggregate_xml(chunks, limits=self.limits), location)
            elif kind is FileKind.JSON:
                self.found(parse_tls_report(self.collect(chunks), limits=self.limits), location)
            elif kind is FileKind.EMPTY:
                raise ReportError(ReasonCode.EMPTY_FILE, "empty")
            else:
                raise ReportError(ReasonCode.NOT_A_REPORT, "neither zip, gzip, XML nor JSON")
        except ReportError as error:
            if error.location is None:
                error.location = location
            if error.code not in SKIPPABLE:
                raise
            self.skipped.append(rejection(error))

    def read_zip(self, data: bytes, location: str, depth: int) -> None:
        members = 0
        for member in zip_members(data, self.limits, self.budget, location):
            members += 1
            self.read(member.chunks, member.location, depth + 1)
        if not members:
            raise ReportError(ReasonCode.EMPTY_ARCHIVE, "zip archive without members")

    def collect(self, chunks: Iterator[bytes]) -> bytes:
        """A whole (JSON) document, refused as soon as it grows past its cap."""
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.limits.max_json_bytes:
                raise ReportError(
                    ReasonCode.DECOMPRESSED_SIZE_EXCEEDED,
                    f"JSON larger than {self.limits.max_json_bytes} bytes",
                )
            parts.append(chunk)
        return b"".join(parts)

    def found(self, report: Report, location: str) -> None:
        report.source = location
        self.reports.append(report)

    def result(self, *, is_mail: bool, failure_report: bool) -> ExtractionResult:
        if self.reports:
            return ExtractionResult(reports=self.reports, skipped=self.skipped)
        if failure_report:
            error = ReportError(
                ReasonCode.FAILURE_REPORT_NOT_SUPPORTED,
                "a DMARC failure (forensic, ARF) report; only aggregate and SMTP TLS reports are read",
            )
        elif not is_mail and self.skipped:
            # A bare file: its own reason (empty, not a report, empty archive) says it best.
            codes = {skipped.code for skipped in self.skipped}
            first = self.skipped[0]
            code = first.code if len(codes) == 1 else ReasonCode.NOT_A_REPORT
            error = ReportError(code, first.message, location=first.location)
        else:
            seen = "; ".join(f"{skipped.location}: {skipped.code.value}" for skipped in self.skipped)
            error = ReportError(ReasonCode.NO_REPORT_FOUND, f"no report in the mail ({seen or 'no parts'})")
        return ExtractionResult(quarantine=rejection(error), skipped=self.skipped)
