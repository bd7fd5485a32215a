"""Hard caps that keep a hostile mail from costing more than a large honest one.

The defaults admit the biggest real aggregate reports (100,000+ records, tens to a couple of hundred MB of
XML) and reject bombs early: sizes and ratios are checked while inflating, never after.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dmarcwatch.reports.errors import ReasonCode, ReportError

MiB = 1024 * 1024


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    # SES accepts mails of up to 40 MB; base64 attachments are inside that.
    max_input_bytes: int = Field(default=64 * MiB, gt=0)
    max_mime_parts: int = Field(default=100, gt=0)
    max_mime_depth: int = Field(default=12, gt=0)
    # Archive within archive (zip in zip, gzip in zip, ...); a plain report.xml.gz is depth 1.
    max_archive_depth: int = Field(default=3, gt=0)
    max_archive_members: int = Field(default=64, gt=0)
    # Per decompressed stream (one zip member, one gzip stream) and for all the streams of one input.
    max_decompressed_bytes: int = Field(default=256 * MiB, gt=0)
    max_total_decompressed_bytes: int = Field(default=512 * MiB, gt=0)
    # Real XML compresses 20-100x with deflate; deflate itself cannot exceed ~1032x, so nested bombs and
    # runs of zeros are what this catches. Checked only once `ratio_check_after_bytes` have been produced,
    # so a small file with a large header never trips it.
    max_compression_ratio: float = Field(default=400.0, gt=1)
    ratio_check_after_bytes: int = Field(default=8 * MiB, ge=0)
    max_xml_elements: int = Field(default=10_000_000, gt=0)
    max_xml_depth: int = Field(default=32, gt=0)
    max_text_length: int = Field(default=8192, gt=0)
    max_prolog_bytes: int = Field(default=64 * 1024, gt=0)
    max_json_bytes: int = Field(default=32 * MiB, gt=0)
    # What one parsed report may keep (a stored report must fit DynamoDB's 400 KB items): auth results of
    # each kind per record, entries in `metadata.errors` and their length, TLS failure details per policy.
    # What lies beyond is dropped and said so; the counts are unaffected.
    max_auth_results: int = Field(default=10, gt=0)
    max_report_errors: int = Field(default=50, ge=2)
    max_error_length: int = Field(default=300, ge=40)
    max_tls_failure_details: int = Field(default=100, gt=0)


DEFAULT_LIMITS = Limits()


class Budget:
    """Decompressed bytes spent by one extraction, across every stream and nesting level."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def spend(self, produced: int, location: str) -> None:
        self.total += produced
        if self.total > self.limits.max_total_decompressed_bytes:
            raise ReportError(
                ReasonCode.DECOMPRESSED_SIZE_EXCEEDED,
                f"more than {self.limits.max_total_decompressed_bytes} bytes decompressed in total",
                location=location,
            )


class StreamMeter:
    """Size and ratio of one decompressed stream, checked as each piece is produced."""

    def __init__(self, budget: Budget, location: str) -> None:
        self.budget = budget
        self.location = location
        self.produced = 0

    def count(self, produced: int, consumed: int) -> None:
        """Account `produced` output bytes for `consumed` compressed bytes read so far in this stream."""
        limits = self.budget.limits
        self.produced += produced
        self.budget.spend(produced, self.location)
        if self.produced > limits.max_decompressed_bytes:
            raise ReportError(
                ReasonCode.DECOMPRESSED_SIZE_EXCEEDED,
                f"decompresses to more than {limits.max_decompressed_bytes} bytes",
                location=self.location,
            )
        if (
            self.produced > limits.ratio_check_after_bytes
            and self.produced > consumed * limits.max_compression_ratio
        ):
            raise ReportError(
                ReasonCode.COMPRESSION_RATIO_EXCEEDED,
                f"compression ratio above {limits.max_compression_ratio:g}:1 "
                f"({self.produced} bytes from {consumed})",
                location=self.location,
            )
