"""Folders (GET/POST /folders, GET/PATCH/DELETE /folders/{id}) and the tags in use (GET /tags)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from dmarcwatch.api.context import request_id_of
from dmarcwatch.api.contracts import DocumentedRoute, error_responses
from dmarcwatch.api.deps import CurrentPrincipal
from dmarcwatch.api.listing import data_response
from dmarcwatch.api.portfolio_schemas import FolderDeleted, FolderIn, FolderOut, TagOut
from dmarcwatch.api.schemas import Envelope, ListEnvelope
from dmarcwatch.services import folders
from dmarcwatch.services.tags import tag_counts

router = APIRouter(tags=["folders"], route_class=DocumentedRoute)

FolderRef = Annotated[str, Path(max_length=64, description="The folder id (fld_…)")]


@router.get(
    "/folders",
    summary="List the folders, by name, with their domain counts",
    response_model=ListEnvelope[FolderOut],
)
def list_folders(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    items = [FolderOut.of(f) for f in folders.list_all(principal.tenant)]
    return {"data": items, "meta": {"request_id": request_id_of(request), "total_count": len(items)}}


@router.post(
    "/folders",
    status_code=status.HTTP_201_CREATED,
    summary="Create a folder",
    description=f"Names are unique in the environment, compared without case (409); at most "
    f"{folders.MAX_FOLDERS} folders (403 beyond).",
    response_model=Envelope[FolderOut],
    responses=error_responses(409),
)
def create_folder(request: Request, body: FolderIn, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, FolderOut.of(folders.create(principal.tenant, body.name)))


@router.get("/folders/{folder_id}", summary="One folder", response_model=Envelope[FolderOut])
def get_folder(request: Request, folder_id: FolderRef, principal: CurrentPrincipal) -> dict[str, Any]:
    return data_response(request, FolderOut.of(folders.get(principal.tenant, folder_id)))


@router.patch(
    "/folders/{folder_id}",
    summary="Rename a folder",
    response_model=Envelope[FolderOut],
    responses=error_responses(409),
)
def rename_folder(
    request: Request, folder_id: FolderRef, body: FolderIn, principal: CurrentPrincipal
) -> dict[str, Any]:
    return data_response(request, FolderOut.of(folders.rename(principal.tenant, folder_id, body.name)))


@router.delete(
    "/folders/{folder_id}",
    summary="Delete a folder: its domains are unfiled, never deleted",
    response_model=Envelope[FolderDeleted],
)
def delete_folder(request: Request, folder_id: FolderRef, principal: CurrentPrincipal) -> dict[str, Any]:
    folder, unfiled = folders.delete(principal.tenant, folder_id)
    return data_response(request, FolderDeleted(id=folder.id, deleted=True, domains_unfiled=unfiled))


@router.get(
    "/tags",
    summary="The tags in use, by name, with how many domains carry each",
    response_model=ListEnvelope[TagOut],
)
def list_tags(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    items = [TagOut(tag=tag, count=count) for tag, count in tag_counts(principal.tenant)]
    return {"data": items, "meta": {"request_id": request_id_of(request), "total_count": len(items)}}
