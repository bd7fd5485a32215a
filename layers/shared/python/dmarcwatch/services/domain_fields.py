"""The portfolio fields an account sets on its domains (folder, favourite, tags, notes, label): one domain
(PATCH /domains/{id}) or many (POST /domains/bulk-update), each change one transaction that also moves
the domain in the facet index (`store.domains.update_fields`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmarcwatch import facets
from dmarcwatch.errors import ApiError, ErrorCode
from dmarcwatch.models import Domain, Tenant, utcnow
from dmarcwatch.services.domains import CHANGE_ATTEMPTS, resolve
from dmarcwatch.store import domains as store
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store import folders as folder_store

MAX_TAGS = 20


@dataclass(frozen=True)
class FieldChange:
    """What to change; fields left as None (or empty) stay as they are. `set_fields` lists the fields to
    set (so a null can clear folder, notes or label)."""

    set_fields: dict[str, Any] = field(default_factory=dict)
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()

    def apply(self, domain: Domain) -> Domain:
        updates = dict(self.set_fields)
        tags = list(updates.pop("tags", domain.tags))
        tags += [tag for tag in self.add_tags if tag not in tags]
        tags = [tag for tag in tags if tag not in self.remove_tags]
        if len(tags) > MAX_TAGS:
            raise ApiError(
                ErrorCode.VALIDATION_ERROR,
                f"a domain takes at most {MAX_TAGS} tags",
                details=[{"field": "tags", "issue": "too_many", "message": f"{len(tags)} > {MAX_TAGS}"}],
            )
        return domain.model_copy(update={**updates, "tags": sorted(tags)})


def _check_folder(tenant: Tenant, change: FieldChange) -> str | None:
    folder_id = change.set_fields.get("folder_id")
    if folder_id is not None and folder_store.get(tenant, folder_id) is None:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"folder {folder_id} does not exist",
            details=[{"field": "folder_id", "issue": "not_found", "message": "no such folder"}],
        )
    return folder_id


def _changed(before: Domain, after: Domain) -> dict[str, Any]:
    return {f: getattr(after, f) for f in store.PORTFOLIO_FIELDS if getattr(after, f) != getattr(before, f)}


def _write(
    tenant: Tenant, id_or_name: str, change: FieldChange, folder_id: str | None
) -> tuple[Domain, bool]:
    """(the domain after the change, whether anything changed); retried on a concurrent change."""
    for _ in range(CHANGE_ATTEMPTS):
        before = resolve(tenant, id_or_name, removed_ok=False)
        after = change.apply(before).model_copy(update={"updated_at": utcnow()})
        values = _changed(before, after)
        if not values:
            return before, False
        # An empty value is stored as no attribute (no tags, no folder, no notes).
        wire = {k: (v if v not in ("", []) else None) for k, v in values.items()}
        must_exist = folder_id if "folder_id" in values else None
        if store.update_fields(tenant, before, after, wire, folder_must_exist=must_exist):
            return after.model_copy(update={"rev": before.rev + 1}), True
        if must_exist is not None and folder_store.get(tenant, must_exist) is None:
            raise ApiError(ErrorCode.VALIDATION_ERROR, f"folder {must_exist} was deleted")
    raise ApiError(ErrorCode.CONFLICT, "the domain kept changing; try again")


def update_domain(tenant: Tenant, id_or_name: str, change: FieldChange) -> Domain:
    folder_id = _check_folder(tenant, change)
    domain, _ = _write(tenant, id_or_name, change, folder_id)
    return domain


@dataclass
class BulkOutcome:
    submitted: int
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def bulk_update(tenant: Tenant, ids: list[str], change: FieldChange) -> BulkOutcome:
    """Apply one change to each domain; each domain's outcome is counted, none fails the others."""
    folder_id = _check_folder(tenant, change)
    outcome = BulkOutcome(submitted=len(ids))
    for ref in dict.fromkeys(ids):
        try:
            _, changed = _write(tenant, ref, change, folder_id)
        except ApiError as error:
            bucket = outcome.not_found if error.code == ErrorCode.NOT_FOUND else outcome.failed
            bucket.append(ref)
            continue
        (outcome.updated if changed else outcome.unchanged).append(ref)
    return outcome


def unfile_folder(tenant: Tenant, folder_id: str) -> int:
    """Take every domain out of a (deleted) folder; returns how many were moved."""
    moved = 0
    change = FieldChange(set_fields={"folder_id": None})
    after: str | None = None
    while True:
        names, more = facet_store.member_names(tenant, facets.folder_facet(folder_id), after=after, limit=100)
        for name in names:
            try:
                _write(tenant, name, change, None)
            except ApiError as error:
                if error.code != ErrorCode.NOT_FOUND:
                    raise
                continue
            moved += 1
        if not more or not names:
            return moved
        after = names[-1]
