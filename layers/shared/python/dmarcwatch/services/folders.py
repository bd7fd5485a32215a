"""Folders: create, rename, list with domain counts, delete (which unfiles their domains, never deletes
them)."""

from __future__ import annotations

from dmarcwatch.errors import ApiError, ErrorCode, not_found
from dmarcwatch.ids import IdPrefix, has_prefix, new_id
from dmarcwatch.models import Folder, Tenant, utcnow
from dmarcwatch.services.domain_fields import unfile_folder
from dmarcwatch.store import folders as store

MAX_FOLDERS = 200


def _taken(name: str) -> ApiError:
    return ApiError(
        ErrorCode.CONFLICT,
        f"a folder named {name!r} exists already",
        details=[{"field": "name", "issue": "duplicate", "message": "folder names are unique (any case)"}],
    )


def create(tenant: Tenant, name: str) -> Folder:
    now = utcnow()
    folder = Folder(id=new_id(IdPrefix.FOLDER), name=name, created_at=now, updated_at=now)
    try:
        store.create(tenant, folder, MAX_FOLDERS)
    except store.NameTaken:
        raise _taken(name) from None
    except store.TooManyFolders:
        raise ApiError(ErrorCode.FORBIDDEN, f"an environment holds at most {MAX_FOLDERS} folders") from None
    return folder


def get(tenant: Tenant, folder_id: str) -> Folder:
    folder = store.get(tenant, folder_id) if has_prefix(folder_id, IdPrefix.FOLDER) else None
    if folder is None:
        raise not_found("folder")
    return folder


def list_all(tenant: Tenant) -> list[Folder]:
    return store.list_all(tenant)


def rename(tenant: Tenant, folder_id: str, name: str) -> Folder:
    folder = get(tenant, folder_id)
    if folder.name == name:
        return folder
    renamed = folder.model_copy(update={"name": name, "updated_at": utcnow()})
    try:
        if not store.rename(tenant, folder, renamed):
            raise ApiError(ErrorCode.CONFLICT, "the folder changed meanwhile; try again")
    except store.NameTaken:
        raise _taken(name) from None
    return renamed


def delete(tenant: Tenant, folder_id: str) -> tuple[Folder, int]:
    """Delete the folder, then take its domains out of it; returns the folder and how many were unfiled."""
    folder = get(tenant, folder_id)
    if not store.delete(tenant, folder):
        raise not_found("folder")
    return folder, unfile_folder(tenant, folder.id)
