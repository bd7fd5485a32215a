"""SMTP TLS reports (RFC 8460): JSON, usually gzipped, with its own report model."""

from __future__ import annotations

import json

from pydantic import ValidationError

from dmarcwatch.reports.errors import ReasonCode, ReportError, invalid
from dmarcwatch.reports.models import TlsReport

# Any of these at the top level makes a JSON document a TLS report (to be validated as one); JSON without
# them is some other document.
_MARKERS = frozenset({"organization-name", "report-id", "policies", "date-range"})


def parse_tls_report(data: bytes) -> TlsReport:
    """Parse one SMTP TLS report from its JSON bytes (decompressed, and size-capped by the caller).

    Raises ReportError: `json_malformed`, `not_a_report` for JSON that is not a TLS report, and
    `invalid_report` naming the field (as a JSON path) when a TLS report is missing or misstates one.
    """
    try:
        document = json.loads(data)
    except RecursionError:
        raise ReportError(ReasonCode.NESTING_TOO_DEEP, "JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ReportError(ReasonCode.JSON_MALFORMED, f"not valid JSON: {error}") from None
    if not isinstance(document, dict) or not _MARKERS & document.keys():
        raise ReportError(ReasonCode.NOT_A_REPORT, "JSON that is not an SMTP TLS report")
    try:
        return TlsReport.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "report"
        raise invalid(field, first["msg"]) from None
