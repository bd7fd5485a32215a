"""What each export dataset reads, page by page, through the services the list endpoints use, and the
filters each accepts.

An export therefore holds what paging the API's own lists would give: domains come from
`domains.list_domains` (the same filters, the same name order), reports from `reports.list_matching`,
statistics and sources from `reports.daily_statistics` and `reports.sources`. Per-domain datasets
(scan_results, changes, sources, stats, diff) walk the tenant's domains (narrowed by the domain filters or
one `domain_id`) and read each domain's rows; their progress is the share of domains done.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dmarcwatch.dns.result import ScanResult
from dmarcwatch.export_model import ExportDataset, ExportParameters, ExportType
from dmarcwatch.models import Domain, DomainStatus, Tenant, iso
from dmarcwatch.services import domains, reports
from dmarcwatch.services.export_columns import ChangeRecord, DiffRecord, ScanRecord, StatRecord
from dmarcwatch.store import scans as scan_store

PAGE = 1000
# Sources are enriched (reverse DNS, network, country) this many at a time, as a page of the API does.
ENRICH_BATCH = 200


class _Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DomainFilters(_Filters):
    """The filters of GET /v1/domains (seed 002's `gateway` and `dmarc_policy` are accepted as aliases,
    `tag` for `tags`); the export's `folder_id` joins them."""

    search: str | None = Field(default=None, max_length=253)
    email_gateway: str | None = Field(default=None, max_length=100, alias="gateway")
    dmarc_status: Literal["reject", "quarantine", "none", "missing"] | None = Field(
        default=None, alias="dmarc_policy"
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, alias="tag", max_length=20, description="Every one of these tags (AND)"
    )
    is_favorite: bool | None = None
    status: DomainStatus | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def domain_filter(self, folder_id: str | None) -> domains.DomainFilter:
        """The filter of `domains.list_domains` and `domains.count_domains`."""
        return domains.DomainFilter(
            search=self.search,
            email_gateway=self.email_gateway,
            dmarc_status=self.dmarc_status,
            folder_id=folder_id,
            tags=tuple(sorted({tag.strip().lower() for tag in self.tags})),
            is_favorite=self.is_favorite,
            status=self.status.value if self.status else None,
        )


class PerDomainFilters(DomainFilters):
    domain_id: str | None = Field(default=None, max_length=253, description="One domain, by id or name")


class SourceFilters(PerDomainFilters):
    range: Literal["48h", "7d", "30d"] = "7d"
    date: str | None = Field(default=None, max_length=10)


class StatsFilters(PerDomainFilters):
    start_date: str | None = Field(default=None, max_length=10)
    end_date: str | None = Field(default=None, max_length=10)


class ReportFilters(_Filters):
    """The filters of GET /v1/reports (`since`/`until` bound when the report arrived)."""

    domain_id: str | None = Field(default=None, max_length=253)
    domain: str | None = Field(default=None, max_length=253)
    sender_org: str | None = Field(default=None, max_length=200)
    kind: Literal["aggregate", "tlsrpt"] | None = None
    start_date: str | None = Field(default=None, max_length=10)
    end_date: str | None = Field(default=None, max_length=10)


FILTERS: dict[ExportDataset, type[_Filters]] = {
    ExportDataset.DOMAINS: DomainFilters,
    ExportDataset.SCAN_RESULTS: PerDomainFilters,
    ExportDataset.CHANGES: PerDomainFilters,
    ExportDataset.REPORTS: ReportFilters,
    ExportDataset.SOURCES: SourceFilters,
    ExportDataset.STATS: StatsFilters,
}


def filter_names(model: type[BaseModel]) -> list[str]:
    """The filters a model takes, with their aliases: `email_gateway (or gateway)`."""
    return [
        f"{name} (or {field.alias})" if field.alias and field.alias != name else name
        for name, field in model.model_fields.items()
    ]


# The datasets `since` and `until` apply to (and diff exports, which require both).
TIMED = frozenset({ExportDataset.CHANGES, ExportDataset.REPORTS})


@dataclass(frozen=True)
class Batch:
    records: list[Any]
    # The share of the dataset read so far (0..1), None when the total is unknown.
    progress: float | None


def read(tenant: Tenant, parameters: ExportParameters) -> Iterator[Batch]:
    """The export's records, batch by batch, in file order."""
    if parameters.export_type is ExportType.DIFF:
        return _per_domain(tenant, parameters, _diff_rows)
    match parameters.dataset:
        case ExportDataset.DOMAINS:
            return _domains(tenant, parameters)
        case ExportDataset.REPORTS:
            return _reports(tenant, parameters)
        case ExportDataset.SCAN_RESULTS:
            return _scan_results(tenant, parameters)
        case ExportDataset.CHANGES:
            return _per_domain(tenant, parameters, _change_rows)
        case ExportDataset.SOURCES:
            return _per_domain(tenant, parameters, _source_rows)
        case ExportDataset.STATS:
            return _per_domain(tenant, parameters, _stat_rows)
    raise AssertionError(parameters.dataset)


def _domain_filter(parameters: ExportParameters) -> domains.DomainFilter:
    model = FILTERS[parameters.dataset] if parameters.export_type is not ExportType.DIFF else PerDomainFilters
    filters = model.model_validate(parameters.filters)
    assert isinstance(filters, DomainFilters)
    return filters.domain_filter(parameters.folder_id)


def _domain_pages(
    tenant: Tenant, parameters: ExportParameters
) -> Iterator[tuple[list[Domain], float | None]]:
    """The domains the export covers, a page at a time, with the share of them done after each page."""
    one = parameters.filters.get("domain_id")
    if one:
        yield [domains.resolve(tenant, one)], 1.0
        return
    chosen = _domain_filter(parameters)
    total = domains.count_domains(tenant, chosen)
    done = 0
    after: str | None = None
    while True:
        page = domains.list_domains(tenant, limit=PAGE, after=after, filters=chosen)
        done += len(page.items)
        yield page.items, min(done / total, 1.0) if total else None
        if page.after is None:
            return
        after = page.after


def _domains(tenant: Tenant, parameters: ExportParameters) -> Iterator[Batch]:
    for page, progress in _domain_pages(tenant, parameters):
        yield Batch(list(page), progress)


def _scan_results(tenant: Tenant, parameters: ExportParameters) -> Iterator[Batch]:
    for page, progress in _domain_pages(tenant, parameters):
        latest = scan_store.latest_many(tenant, [d.id for d in page])
        records = [
            ScanRecord(domain, ScanResult.model_validate(latest[domain.id].result))
            for domain in page
            if domain.id in latest
        ]
        yield Batch(records, progress)


def _per_domain(tenant: Tenant, parameters: ExportParameters, rows: Any) -> Iterator[Batch]:
    """For each domain, its rows (as many batches as `rows` yields), progress counted by domains."""
    for page, progress in _domain_pages(tenant, parameters):
        for index, domain in enumerate(page):
            share = None if progress is None else progress * (index + 1) / len(page)
            for records in rows(tenant, domain, parameters):
                yield Batch(records, share)


def _stamp(value: datetime | None) -> str | None:
    return iso(value)


def _changes_within(tenant: Tenant, domain: Domain, parameters: ExportParameters) -> Iterator[ChangeRecord]:
    """The domain's changes, newest first, detected within [since, until)."""
    since, until = _stamp(parameters.since), _stamp(parameters.until)
    before: str | None = None
    while True:
        found, before = scan_store.list_changes(tenant, domain.id, limit=PAGE, before=before)
        for change in found:
            if until and change.detected_at >= until:
                continue
            if since and change.detected_at < since:
                return
            yield ChangeRecord(domain, change)
        if before is None:
            return


def _change_rows(tenant: Tenant, domain: Domain, parameters: ExportParameters) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for record in _changes_within(tenant, domain, parameters):
        batch.append(record)
        if len(batch) == PAGE:
            yield batch
            batch = []
    if batch:
        yield batch


def _diff_rows(tenant: Tenant, domain: Domain, parameters: ExportParameters) -> Iterator[list[Any]]:
    """Per field changed within the window: its value before the first change and after the last; fields
    that ended where they began are left out."""
    by_field: dict[str, list[ChangeRecord]] = {}
    for record in _changes_within(tenant, domain, parameters):
        by_field.setdefault(record.change.field, []).append(record)
    rows: list[Any] = []
    for field in sorted(by_field):
        newest_first = by_field[field]
        first, last = newest_first[-1].change, newest_first[0].change
        if first.old != last.new:
            rows.append(
                DiffRecord(
                    domain, field, first.old, last.new, len(newest_first), first.detected_at, last.detected_at
                )
            )
    if rows:
        yield rows


def _source_rows(tenant: Tenant, domain: Domain, parameters: ExportParameters) -> Iterator[list[Any]]:
    filters = SourceFilters.model_validate(parameters.filters)
    found = reports.sources(tenant, domain.id, filters.range, filters.date)
    span = {"start_date": found["start_date"], "end_date": found["end_date"]}
    ranked = found["sources"]
    for start in range(0, len(ranked), ENRICH_BATCH):
        enriched = reports.enrich_sources(ranked[start : start + ENRICH_BATCH])
        yield [StatRecord(domain, {**row, **span}) for row in enriched]


def _stat_rows(tenant: Tenant, domain: Domain, parameters: ExportParameters) -> Iterator[list[Any]]:
    filters = StatsFilters.model_validate(parameters.filters)
    found = reports.daily_statistics(tenant, domain.id, filters.start_date, filters.end_date)
    yield [StatRecord(domain, day) for day in found["days"]]


def _reports(tenant: Tenant, parameters: ExportParameters) -> Iterator[Batch]:
    filters = ReportFilters.model_validate(parameters.filters)
    # Resolved once (the domain filter is a lookup), then every page reads with the same filters.
    wanted = reports.report_filters(
        tenant, received_after=parameters.since, received_before=parameters.until, **filters.model_dump()
    )
    after: str | None = None
    while True:
        found, after = reports.list_matching(tenant, wanted, limit=PAGE, after=after)
        yield Batch(list(found), None)
        if after is None:
            return
