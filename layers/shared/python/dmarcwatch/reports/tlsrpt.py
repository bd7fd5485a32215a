"""SMTP TLS reports (RFC 8460): JSON, usually gzipped, with its own report model."""

from __future__ import annotations

import json

from pydantic import ValidationError

from dmarcwatch.reports.errors import ReasonCode, ReportError, invalid
from dmarcwatch.reports.limits import DEFAULT_LIMITS, Limits
from dmarcwatch.reports.models import TlsPolicyResult, TlsReport

# Any of these at the top level makes a JSON document a TLS report (to be validated as one); JSON without
# them is some other document.
_MARKERS = frozenset({"organization-name", "report-id", "policies", "date-range"})


def parse_tls_report(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> TlsReport:
    """Parse one SMTP TLS report from its JSON bytes (decompressed, and size-capped by the caller).

    Every failure detail is validated, but at most `limits.max_tls_failure_details` are kept per policy
    (a policy is stored as one item); the policy's summary still counts every session.

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
        report = TlsReport.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "report"
        raise invalid(field, first["msg"]) from None
    for policy in report.policies:
        _cap_failure_details(policy, limits.max_tls_failure_details)
    return report


def _cap_failure_details(policy: TlsPolicyResult, cap: int) -> None:
    """Keep the `cap` failure details with the most failed sessions (in report order); count the rest."""
    details = policy.failure_details
    omitted = 0
    omitted_sessions = 0
    if len(details) > cap:
        ranked = sorted(range(len(details)), key=lambda at: -details[at].failed_session_count)
        kept = set(ranked[:cap])
        omitted = len(details) - cap
        omitted_sessions = sum(details[at].failed_session_count for at in ranked[cap:])
        policy.failure_details = [detail for at, detail in enumerate(details) if at in kept]
    policy.omitted_failure_details = omitted
    policy.omitted_failed_session_count = omitted_sessions
