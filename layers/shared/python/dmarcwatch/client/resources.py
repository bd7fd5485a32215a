"""`DmarcwatchClient`: typed methods over the API's resources (seed 001's SDK shape, in Python).

    client = DmarcwatchClient("http://127.0.0.1:8000/v1", os.environ["DMARCWATCH_API_KEY"])
    for domain in client.iter_domains(tag=["prod"], is_favorite=True):
        ...

Lists come two ways: `list_*` returns one page (`.data`, `.meta.next_cursor`, `.meta.total_count`), and
`iter_*` follows the cursors to the end. Anything without a method here is `client.request(...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypedDict, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from dmarcwatch.api.export_schemas import ExportCreate, ExportDeleted, ExportOut
from dmarcwatch.api.report_schemas import ReportDetailOut, ReportOut
from dmarcwatch.api.schemas import ListEnvelope
from dmarcwatch.client.errors import ClientError, ExportFailedError, WaitTimeoutError
from dmarcwatch.client.models import (
    ApiKey,
    BulkAddResult,
    BulkUpdateResult,
    DashboardSummary,
    Domain,
    DomainDeleted,
    DomainDetail,
    Folder,
    FolderDeleted,
    Tag,
)
from dmarcwatch.client.retry import retry_after_seconds
from dmarcwatch.client.session import ApiSession, Params

M = TypeVar("M", bound=BaseModel)


class _Unset:
    """Marks a field not sent (None is sent, as JSON null, and clears the field)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

# Export states after which nothing changes.
FINISHED = frozenset({"completed", "failed"})


def _fields(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not UNSET}


class DomainQuery(TypedDict, total=False):
    """The filters of GET /domains (all ANDed)."""

    search: str
    folder_id: str  # a folder id, or "none" for unfiled domains
    tag: Iterable[str]  # domains carrying every tag given
    is_favorite: bool
    status: str  # active, inactive or removed
    dmarc_status: str  # reject, quarantine, none or missing
    email_gateway: str


def _domain_filters(query: DomainQuery) -> dict[str, Any]:
    return {**query, "tag": list(query.get("tag") or ())}


class DmarcwatchClient(ApiSession):
    """The API at `base_url` (ending in its base path, `/v1`) with one key. See ApiSession for the rest."""

    def __enter__(self) -> DmarcwatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Generic access, for the routes without a method of their own.

    def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        """`data` of any route: `client.request("POST", "/domains/example.com/scan")`."""
        return self.data(method, path, params=params, json=json)

    def _page(self, model: type[M], path: str, params: Params) -> ListEnvelope[M]:
        return ListEnvelope[model].model_validate(self.send("GET", path, params=params).json())  # type: ignore[valid-type]

    def _iter(self, model: type[M], path: str, params: Params) -> Iterator[M]:
        return (model.model_validate(item) for item in self.paginate(path, params))

    # Domains.

    def list_domains(
        self, *, limit: int = 25, cursor: str | None = None, **filters: Unpack[DomainQuery]
    ) -> ListEnvelope[Domain]:
        """One page (`.data`, `.meta.next_cursor`, `.meta.total_count`)."""
        return self._page(Domain, "/domains", {**_domain_filters(filters), "limit": limit, "cursor": cursor})

    def iter_domains(self, **filters: Unpack[DomainQuery]) -> Iterator[Domain]:
        """Every domain matching the filters, page after page."""
        return self._iter(Domain, "/domains", _domain_filters(filters))

    def get_domain(self, domain: str) -> DomainDetail:
        """By id (dom_…) or by name."""
        return DomainDetail.model_validate(self.data("GET", f"/domains/{domain}"))

    def add_domain(self, name: str) -> Domain:
        return Domain.model_validate(self.data("POST", "/domains", json={"domain": name}))

    def add_domains(self, names: list[str]) -> BulkAddResult:
        """Up to 500 names in one call (the answer counts added, existing, duplicates and invalid)."""
        body = {"domains": names}
        return BulkAddResult.model_validate(self.data("POST", "/domains", json=body, idempotent=True))

    def update_domain(
        self,
        domain: str,
        *,
        folder_id: str | None = UNSET,
        is_favorite: bool = UNSET,
        tags: list[str] | None = UNSET,
        notes: str | None = UNSET,
        custom_label: str | None = UNSET,
    ) -> Domain:
        """Only the fields given change; None clears folder_id, notes, custom_label (and tags)."""
        body = _fields(
            folder_id=folder_id, is_favorite=is_favorite, tags=tags, notes=notes, custom_label=custom_label
        )
        return Domain.model_validate(self.data("PATCH", f"/domains/{domain}", json=body))

    def bulk_update(
        self,
        ids: list[str],
        *,
        folder_id: str | None = UNSET,
        is_favorite: bool = UNSET,
        tags: list[str] | None = UNSET,
        add_tags: list[str] = UNSET,
        remove_tags: list[str] = UNSET,
        custom_label: str | None = UNSET,
    ) -> BulkUpdateResult:
        """One change for up to 500 domains (ids or names)."""
        body = {"ids": ids} | _fields(
            folder_id=folder_id,
            is_favorite=is_favorite,
            tags=tags,
            add_tags=add_tags,
            remove_tags=remove_tags,
            custom_label=custom_label,
        )
        return BulkUpdateResult.model_validate(
            self.data("POST", "/domains/bulk-update", json=body, idempotent=True)
        )

    def delete_domain(self, domain: str, *, purge: bool = False) -> DomainDeleted:
        """Removed (restorable for 30 days by adding it again), or purged now."""
        params = {"purge": True} if purge else None
        return DomainDeleted.model_validate(self.data("DELETE", f"/domains/{domain}", params=params))

    # Folders, tags, dashboard, keys.

    def list_folders(self) -> list[Folder]:
        return [Folder.model_validate(f) for f in self.data("GET", "/folders")]

    def create_folder(self, name: str) -> Folder:
        return Folder.model_validate(self.data("POST", "/folders", json={"name": name}))

    def get_folder(self, folder_id: str) -> Folder:
        return Folder.model_validate(self.data("GET", f"/folders/{folder_id}"))

    def rename_folder(self, folder_id: str, name: str) -> Folder:
        return Folder.model_validate(self.data("PATCH", f"/folders/{folder_id}", json={"name": name}))

    def delete_folder(self, folder_id: str) -> FolderDeleted:
        return FolderDeleted.model_validate(self.data("DELETE", f"/folders/{folder_id}"))

    def list_tags(self) -> list[Tag]:
        return [Tag.model_validate(t) for t in self.data("GET", "/tags")]

    def dashboard_summary(self, *, folder_id: str | None = None, tag: str | None = None) -> DashboardSummary:
        params = {"folder_id": folder_id, "tag": tag}
        return DashboardSummary.model_validate(self.data("GET", "/dashboard/summary", params=params))

    def list_keys(self) -> list[ApiKey]:
        return [ApiKey.model_validate(k) for k in self.data("GET", "/keys")]

    # Reports.

    def list_reports(
        self, *, limit: int = 25, cursor: str | None = None, **filters: Any
    ) -> ListEnvelope[ReportOut]:
        """Filters as GET /reports takes them: domain_id, domain, org, received_after, …"""
        return self._page(ReportOut, "/reports", {**filters, "limit": limit, "cursor": cursor})

    def iter_reports(self, **filters: Any) -> Iterator[ReportOut]:
        return self._iter(ReportOut, "/reports", filters)

    def get_report(self, report_id: str, **params: Any) -> ReportDetailOut:
        return ReportDetailOut.model_validate(self.data("GET", f"/reports/{report_id}", params=params))

    # Exports.

    def create_export(
        self,
        export_type: str | None = None,
        dataset: str | None = None,
        *,
        folder_id: str | None = None,
        columns: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> ExportOut:
        """Queue an export (202); `wait_for_export` then `download_export`."""
        body = ExportCreate(
            export_type=export_type,
            dataset=dataset,
            folder_id=folder_id,
            columns=columns,
            filters=filters,
            since=since,
            until=until,
        )
        return ExportOut.model_validate(
            self.data("POST", "/exports", json=body.model_dump(mode="json", exclude_none=True))
        )

    def get_export(self, export_id: str) -> ExportOut:
        """The export, with a fresh 15-minute `file_url` once completed."""
        return ExportOut.model_validate(self.data("GET", f"/exports/{export_id}"))

    def list_exports(self, *, limit: int = 25, cursor: str | None = None) -> ListEnvelope[ExportOut]:
        return self._page(ExportOut, "/exports", {"limit": limit, "cursor": cursor})

    def iter_exports(self) -> Iterator[ExportOut]:
        return self._iter(ExportOut, "/exports", {})

    def delete_export(self, export_id: str) -> ExportDeleted:
        return ExportDeleted.model_validate(self.data("DELETE", f"/exports/{export_id}"))

    def wait_for_export(
        self,
        export_id: str,
        *,
        interval: float = 2.0,
        timeout: float = 900.0,
        on_poll: Callable[[ExportOut], None] | None = None,
    ) -> ExportOut:
        """Poll until completed (returned) or failed (ExportFailedError); a Retry-After on the answer
        replaces `interval` for the next poll."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.send("GET", f"/exports/{export_id}")
            export = ExportOut.model_validate(response.json()["data"])
            if on_poll:
                on_poll(export)
            if export.status == "completed":
                return export
            if export.status == "failed":
                raise ExportFailedError(export.id, export.error)
            asked = retry_after_seconds(response.headers.get("retry-after"), self._now())
            wait = interval if asked is None else asked
            if time.monotonic() + wait > deadline:
                raise WaitTimeoutError(f"export {export_id} is still {export.status} after {timeout:g} s")
            self._sleep(wait)

    def download_export(
        self,
        export: str | ExportOut,
        destination: str | Path | IO[bytes],
        *,
        download: httpx.Client | None = None,
    ) -> int:
        """Stream a completed export's file to a path or a binary file; the bytes written.

        The presigned `file_url` goes to S3 without the API key (a second Authorization would be refused);
        `download` (or the client's `files`) fetches it; a plain httpx.Client by default. A fresh link is
        asked for when given an id.
        """
        current = self.get_export(export) if isinstance(export, str) else export
        if current.status != "completed" or not current.file_url:
            raise ClientError(f"export {current.id} is {current.status}: nothing to download yet")
        given = download or self.files
        http = given or httpx.Client(timeout=300.0, follow_redirects=True)
        try:
            with http.stream("GET", current.file_url) as response:
                if response.status_code >= 400:
                    raise ClientError(f"download of export {current.id} answered {response.status_code}")
                if isinstance(destination, str | Path):
                    with Path(destination).open("wb") as sink:
                        return _copy(response, sink)
                return _copy(response, destination)
        finally:
            if given is None:
                http.close()


def _copy(response: httpx.Response, sink: IO[bytes]) -> int:
    written = 0
    for chunk in response.iter_bytes(chunk_size=1 << 20):
        sink.write(chunk)
        written += len(chunk)
    return written
