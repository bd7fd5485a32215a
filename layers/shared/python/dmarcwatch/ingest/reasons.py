"""Why the pipeline quarantines a mail or a report: a leaf module, so the API can name a reason (e.g. to
refuse reprocessing a virus) without importing the pipeline and the report parser behind it."""

from __future__ import annotations


class Reason:
    """Quarantine reasons of the pipeline (the parser's own are `dmarcwatch.reports.errors.ReasonCode`,
    the plausibility caps' `dmarcwatch.ingest.sanity.Reason`)."""

    NO_ACCOUNT = "no_account_for_address"
    DOMAIN_NOT_MONITORED = "domain_not_monitored"
    DOMAIN_INACTIVE = "domain_inactive"
    SPAM = "spam"
    VIRUS = "virus"
    TOO_LARGE = "too_large"
    PROCESSING_ERROR = "processing_error"
