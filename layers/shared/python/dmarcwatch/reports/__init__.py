"""DMARC aggregate and SMTP TLS report parsing: pure functions over bytes (no I/O, no AWS).

`extract_reports(raw)` is the entry point for a raw mail or a bare report file; the lower-level parsers
take already-decompressed documents.
"""

from dmarcwatch.reports.aggregate_xml import parse_aggregate_xml
from dmarcwatch.reports.errors import ReasonCode, ReportError
from dmarcwatch.reports.extract import extract_reports
from dmarcwatch.reports.limits import DEFAULT_LIMITS, Limits
from dmarcwatch.reports.models import (
    AggregateRecord,
    AggregateReport,
    Alignment,
    DiscoveryMethod,
    Disposition,
    DkimAuthResult,
    DkimResult,
    DmarcPolicy,
    DmarcVerdict,
    ExtractionResult,
    OverrideReason,
    PolicyOverride,
    PolicyPublished,
    Rejection,
    Report,
    ReportMetadata,
    SpfAuthResult,
    SpfResult,
    SpfScope,
    TlsReport,
)
from dmarcwatch.reports.tlsrpt import parse_tls_report

__all__ = [
    "DEFAULT_LIMITS",
    "AggregateRecord",
    "AggregateReport",
    "Alignment",
    "DiscoveryMethod",
    "Disposition",
    "DkimAuthResult",
    "DkimResult",
    "DmarcPolicy",
    "DmarcVerdict",
    "ExtractionResult",
    "Limits",
    "OverrideReason",
    "PolicyOverride",
    "PolicyPublished",
    "ReasonCode",
    "Rejection",
    "Report",
    "ReportError",
    "ReportMetadata",
    "SpfAuthResult",
    "SpfResult",
    "SpfScope",
    "TlsReport",
    "extract_reports",
    "parse_aggregate_xml",
    "parse_tls_report",
]
