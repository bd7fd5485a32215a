"""Folders of a tenant's domains.

Item layout (under the tenant partition):
- folder:    sk=FOLDER#<fld_id>             name, created_at, updated_at
- name lock: sk=FOLDERNAME#<casefolded name> folder_id: makes names unique per tenant, written in the
             folder's transactions
- the tenant counter item (sk=META) keeps `folder_count`, the condition that caps folders per tenant.
A folder's domains are the members of its facet value (`store.facets`, `folder:<fld_id>`), whose count
is the folder's `domain_count`.
"""

from __future__ import annotations

from typing import Any

from dmarcwatch import table as t
from dmarcwatch.facets import folder_facet
from dmarcwatch.models import Folder, Tenant
from dmarcwatch.store import facets as facet_store
from dmarcwatch.store.db import key, parse_ts, query_items, table, to_wire, transact_reasons, ts


class NameTaken(Exception):
    pass


class TooManyFolders(Exception):
    pass


def _pk(tenant: Tenant) -> str:
    return t.tenant_pk(tenant.account_id, tenant.environment)


def _from(item: dict[str, Any], domain_count: int) -> Folder:
    return Folder(
        id=str(item["id"]),
        name=str(item["name"]),
        created_at=parse_ts(item["created_at"]),
        updated_at=parse_ts(item["updated_at"]),
        domain_count=domain_count,
    )


def _lock_put(tenant: Tenant, folder: Folder) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table().name,
            "Item": to_wire({**key(_pk(tenant), t.folder_name_sk(folder.name)), "folder_id": folder.id}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _lock_delete(tenant: Tenant, name: str) -> dict[str, Any]:
    return {"Delete": {"TableName": table().name, "Key": to_wire(key(_pk(tenant), t.folder_name_sk(name)))}}


def _folder_item(tenant: Tenant, folder: Folder) -> dict[str, Any]:
    return {
        **key(_pk(tenant), t.folder_sk(folder.id)),
        "type": "folder",
        "id": folder.id,
        "name": folder.name,
        "created_at": ts(folder.created_at),
        "updated_at": ts(folder.updated_at),
    }


def _count_update(tenant: Tenant, delta: int, cap: int | None = None) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table().name,
        "Key": to_wire(key(_pk(tenant), t.TENANT_META_SK)),
        "UpdateExpression": "ADD folder_count :d",
        "ExpressionAttributeValues": to_wire({":d": delta}),
    }
    if cap is not None:
        update["ConditionExpression"] = "attribute_not_exists(folder_count) OR folder_count < :cap"
        update["ExpressionAttributeValues"] = to_wire({":d": delta, ":cap": cap})
    return {"Update": update}


def create(tenant: Tenant, folder: Folder, cap: int) -> None:
    """Raises NameTaken or TooManyFolders (nothing written then)."""
    reasons = transact_reasons(
        [
            {
                "Put": {
                    "TableName": table().name,
                    "Item": to_wire(_folder_item(tenant, folder)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            _lock_put(tenant, folder),
            _count_update(tenant, 1, cap),
        ]
    )
    if reasons is not None:
        if reasons[1] == "ConditionalCheckFailed":
            raise NameTaken(folder.name)
        raise TooManyFolders()


def get(tenant: Tenant, folder_id: str) -> Folder | None:
    item = table().get_item(Key=key(_pk(tenant), t.folder_sk(folder_id)), ConsistentRead=True).get("Item")
    if item is None:
        return None
    return _from(item, facet_store.counts(tenant, [folder_facet(folder_id)])[folder_facet(folder_id)])


def list_all(tenant: Tenant) -> list[Folder]:
    """Every folder of the tenant (at most the cap, a few hundred), by name, with their domain counts."""
    items = list(
        query_items(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
                "ExpressionAttributeValues": {":pk": _pk(tenant), ":sk": t.folder_sk("")},
            }
        )
    )
    counts = facet_store.counts(tenant, [folder_facet(str(i["id"])) for i in items])
    folders = [_from(i, counts[folder_facet(str(i["id"]))]) for i in items]
    return sorted(folders, key=lambda f: (f.name.casefold(), f.id))


def rename(tenant: Tenant, folder: Folder, renamed: Folder) -> bool:
    """Rename (the lock moves with the name); raises NameTaken; False if the folder is gone or was
    renamed meanwhile."""
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table().name,
                "Key": to_wire(key(_pk(tenant), t.folder_sk(folder.id))),
                "UpdateExpression": "SET #n = :new, updated_at = :u",
                "ConditionExpression": "attribute_exists(pk) AND #n = :old",
                "ExpressionAttributeNames": {"#n": "name"},
                "ExpressionAttributeValues": to_wire(
                    {":new": renamed.name, ":old": folder.name, ":u": ts(renamed.updated_at)}
                ),
            }
        }
    ]
    if folder.name.casefold() != renamed.name.casefold():
        items += [_lock_delete(tenant, folder.name), _lock_put(tenant, renamed)]
    reasons = transact_reasons(items)
    if reasons is None:
        return True
    if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
        raise NameTaken(renamed.name)
    return False


def delete(tenant: Tenant, folder: Folder) -> bool:
    """Delete the folder and its name lock; False if it was already gone. Its domains are unfiled by the
    caller afterwards (a moved domain checks that its folder exists, so none is filed into it meanwhile)."""
    reasons = transact_reasons(
        [
            {
                "Delete": {
                    "TableName": table().name,
                    "Key": to_wire(key(_pk(tenant), t.folder_sk(folder.id))),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            _lock_delete(tenant, folder.name),
            _count_update(tenant, -1),
        ]
    )
    return reasons is None
