"""The export column registry: for each dataset, its columns in file order, each with a getter.

The API validates `columns` against it and describes the columns from it; the worker takes each cell from
it. A column's getter receives one record of its dataset (what `export_datasets` yields) and returns a cell:
text, a number, a boolean, a list of texts, or None. Values read like the API shows them: timestamps ISO
8601 UTC with a `Z`, names as the list endpoints spell them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dmarcwatch.dns.result import ScanResult
from dmarcwatch.export_model import ExportDataset, ExportType
from dmarcwatch.models import COUNTERS, Domain, StoredReport, iso
from dmarcwatch.services.export_formats import Cell
from dmarcwatch.store.scans import ChangeRow


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    get: Callable[[Any], Cell]


@dataclass(frozen=True)
class ScanRecord:
    domain: Domain
    result: ScanResult


@dataclass(frozen=True)
class ChangeRecord:
    domain: Domain
    change: ChangeRow


@dataclass(frozen=True)
class DiffRecord:
    """A field's net change over the window: its value before the first change and after the last."""

    domain: Domain
    field: str
    old: str | None
    new: str | None
    changes: int
    first_changed_at: str
    last_changed_at: str


@dataclass(frozen=True)
class StatRecord:
    """One row of the statistics services (a day of a domain, or a source of a domain over a range)."""

    domain: Domain
    row: dict[str, Any]


def _domain_columns() -> tuple[Column, ...]:
    return (
        Column("id", "The domain's id (dom_…)", lambda d: d.id),
        Column("domain", "The domain name (ASCII)", lambda d: d.name),
        Column("unicode_domain", "The domain name in Unicode", lambda d: d.unicode_name),
        Column("status", "active or inactive", lambda d: d.status.value),
        Column("created_at", "When the domain was added", lambda d: iso(d.created_at)),
        Column("updated_at", "When the domain last changed", lambda d: iso(d.updated_at)),
        Column("verified", "Whether ownership is proven", lambda d: d.verified_at is not None),
        Column("verified_at", "When ownership was proven", lambda d: iso(d.verified_at)),
        Column(
            "email_gateway", "From the latest scan; 'none' when none was detected", lambda d: d.email_gateway
        ),
        Column("dmarc_status", "reject, quarantine, none or missing (latest scan)", lambda d: d.dmarc_status),
        Column("spf_status", "SPF status of the latest scan", lambda d: d.spf_status),
        Column("last_scan_at", "When the domain was last scanned", lambda d: iso(d.last_scan_at)),
        Column("next_scan_at", "When the next scheduled scan is due", lambda d: iso(d.next_scan_at)),
        Column("folder_id", "The domain's folder (fld_…)", lambda d: d.folder_id),
        Column("is_favorite", "Marked as a favourite", lambda d: d.is_favorite),
        Column("tags", "Tags, lowercased", lambda d: list(d.tags)),
        Column("custom_label", "The account's label", lambda d: d.custom_label),
        Column("notes", "The account's notes", lambda d: d.notes),
    )


def _owner_columns() -> tuple[Column, ...]:
    """The domain a row of a per-domain dataset belongs to."""
    return (
        Column("domain_id", "The domain's id (dom_…)", lambda r: r.domain.id),
        Column("domain_name", "The domain name", lambda r: r.domain.name),
    )


def _scan_columns() -> tuple[Column, ...]:
    def result(name: str) -> Callable[[ScanRecord], Cell]:
        return lambda r: getattr(r.result, name)

    return (
        *_owner_columns(),
        Column("scanned_at", "When the latest scan ran", lambda r: iso(r.result.scanned_at)),
        Column("mx", "MX hosts by priority", lambda r: [f"{m.priority} {m.host}" for m in r.result.mx]),
        Column("mx_server_ips", "Addresses of the MX hosts", result("mx_server_ips")),
        Column("email_gateway", "Detected email gateway", result("email_gateway")),
        Column("spf", "The SPF record", result("spf")),
        Column("spf_valid", "Whether the SPF record is valid", result("spf_valid")),
        Column("spf_status", "SPF status", result("spf_status")),
        Column("spf_dns_lookups", "DNS-querying SPF terms (limit 10)", result("spf_dns_lookups")),
        Column("dmarc", "The DMARC record", result("dmarc")),
        Column("dmarc_status", "reject, quarantine, none or missing", result("dmarc_status")),
        Column("dmarc_policy_p", "p= of the domain's own record", result("dmarc_policy_p")),
        Column(
            "dmarc_policy_applied",
            "The policy that applies to the domain's mail",
            result("dmarc_policy_applied"),
        ),
        Column("dmarc_pct", "pct= of the record", result("dmarc_pct")),
        Column("dmarc_rua", "Aggregate report addresses", result("dmarc_rua")),
        Column(
            "dkim_selectors",
            "DKIM selectors found",
            lambda r: [s.selector for s in r.result.dkim_selectors_found],
        ),
        Column(
            "dkim_status",
            "DKIM status",
            lambda r: r.result.dkim_status.value if r.result.dkim_status else None,
        ),
        Column("bimi", "The BIMI record", lambda r: r.result.bimi.record if r.result.bimi else None),
        Column(
            "mta_sts", "The MTA-STS record", lambda r: r.result.mta_sts.record if r.result.mta_sts else None
        ),
        Column(
            "tls_rpt", "The TLS-RPT record", lambda r: r.result.tls_rpt.record if r.result.tls_rpt else None
        ),
        Column("ns", "Name servers", result("ns")),
        Column("a", "IPv4 addresses of the domain", result("a")),
        Column("aaaa", "IPv6 addresses of the domain", result("aaaa")),
        Column(
            "errors",
            "Checks that failed (check: outcome)",
            lambda r: [f"{e.check}: {e.outcome}" for e in r.result.errors],
        ),
    )


def _change_columns() -> tuple[Column, ...]:
    return (
        Column("id", "The change's id (chg_…)", lambda r: r.change.id),
        *_owner_columns(),
        Column("field_name", "The scan result field, or dkim:<selector>", lambda r: r.change.field),
        Column("old_value", "The value before", lambda r: r.change.old),
        Column("new_value", "The value after", lambda r: r.change.new),
        Column("detected_at", "When a scan saw the change", lambda r: r.change.detected_at),
    )


def _diff_columns() -> tuple[Column, ...]:
    return (
        *_owner_columns(),
        Column("field_name", "The scan result field, or dkim:<selector>", lambda r: r.field),
        Column("old_value", "The value at `since` (before the window's first change)", lambda r: r.old),
        Column("new_value", "The value at `until` (after the window's last change)", lambda r: r.new),
        Column("change_count", "Changes of the field within the window", lambda r: r.changes),
        Column("first_changed_at", "The window's first change", lambda r: r.first_changed_at),
        Column("last_changed_at", "The window's last change", lambda r: r.last_changed_at),
    )


def _report_columns() -> tuple[Column, ...]:
    def rate(report: StoredReport) -> float | None:
        return round(report.dmarc_pass_count / report.message_count, 4) if report.message_count else None

    return (
        Column("id", "The report's id (rpt_…)", lambda r: r.id),
        Column("kind", "aggregate or tlsrpt", lambda r: r.kind.value),
        Column("domain_id", "The domain's id", lambda r: r.domain_id),
        Column("domain", "The policy domain", lambda r: r.domain),
        Column("org_name", "The reporting organisation", lambda r: r.org_name),
        Column("org_email", "The reporter's contact", lambda r: r.org_email),
        Column("external_report_id", "The reporter's report id", lambda r: r.external_report_id),
        Column("begin", "Start of the reported range", lambda r: iso(r.begin)),
        Column("end", "End of the reported range", lambda r: iso(r.end)),
        Column("received_at", "When the report arrived", lambda r: iso(r.received_at)),
        Column("record_count", "Records in the report", lambda r: r.record_count),
        Column("message_count", "Messages the report counts", lambda r: r.message_count),
        Column("dmarc_pass_count", "Messages that passed DMARC", lambda r: r.dmarc_pass_count),
        Column("pass_rate", "dmarc_pass_count / message_count", rate),
        Column("source", "mail or upload", lambda r: r.source),
        Column(
            "reporter_authenticated",
            "SES verified the reporter's DKIM signature",
            lambda r: r.reporter_authenticated,
        ),
    )


def _counter_columns() -> tuple[Column, ...]:
    counters = tuple(Column(name, f"Messages: {name.replace('_', ' ')}", _row(name)) for name in COUNTERS)
    rates = tuple(
        Column(name, f"{what} / messages", _row(name))
        for name, what in (
            ("pass_rate", "dmarc_pass"),
            ("spf_pass_rate", "spf_aligned_pass"),
            ("dkim_pass_rate", "dkim_aligned_pass"),
        )
    )
    return counters + rates


def _row(name: str) -> Callable[[StatRecord], Cell]:
    return lambda r: r.row.get(name)


def _stats_columns() -> tuple[Column, ...]:
    return (*_owner_columns(), Column("date", "The day (UTC)", _row("date")), *_counter_columns())


def _source_columns() -> tuple[Column, ...]:
    return (
        *_owner_columns(),
        Column("start_date", "First day of the range", _row("start_date")),
        Column("end_date", "Last day of the range", _row("end_date")),
        Column("ip", "The sending address", _row("ip")),
        *_counter_columns(),
        Column("hostname", "Reverse DNS name", _row("hostname")),
        Column("country", "Country of the address", _row("country")),
        Column("org", "Network owning the address", _row("org")),
        Column("known_sender", "A known sending service", _row("known_sender")),
    )


COLUMNS: dict[ExportDataset, tuple[Column, ...]] = {
    ExportDataset.DOMAINS: _domain_columns(),
    ExportDataset.SCAN_RESULTS: _scan_columns(),
    ExportDataset.CHANGES: _change_columns(),
    ExportDataset.REPORTS: _report_columns(),
    ExportDataset.SOURCES: _source_columns(),
    ExportDataset.STATS: _stats_columns(),
}
DIFF_COLUMNS = _diff_columns()


def columns_of(export_type: ExportType, dataset: ExportDataset) -> tuple[Column, ...]:
    """Every column of what the export writes, in file order."""
    return DIFF_COLUMNS if export_type is ExportType.DIFF else COLUMNS[dataset]


def select(export_type: ExportType, dataset: ExportDataset, names: Sequence[str]) -> tuple[Column, ...]:
    """The named columns in the order asked; every name must be one of `columns_of` (the API checks)."""
    by_name = {column.name: column for column in columns_of(export_type, dataset)}
    return tuple(by_name[name] for name in names)
