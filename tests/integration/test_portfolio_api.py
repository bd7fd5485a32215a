"""Folders, tags, favourites, notes and labels: PATCH /domains/{id}, POST /domains/bulk-update, /folders,
/tags, and the domain list's facet filters (served from the facet index, checked against brute force)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.conftest import ApiAccount


def _add(client: TestClient, account: ApiAccount, names: list[str], env: str = "live") -> dict[str, str]:
    response = client.post("/v1/domains", headers=account.headers(env), json={"domains": names})
    assert response.status_code == 201, response.text
    return {d["domain"]: d["id"] for d in response.json()["data"]["domains"]}


def _folder(client: TestClient, account: ApiAccount, name: str, env: str = "live") -> str:
    response = client.post("/v1/folders", headers=account.headers(env), json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _patch(client: TestClient, account: ApiAccount, ref: str, body: dict[str, Any]) -> Any:
    return client.patch(f"/v1/domains/{ref}", headers=account.headers(), json=body)


def _names(client: TestClient, account: ApiAccount, **params: Any) -> tuple[list[str], int]:
    """Every name the list returns with these filters (paged with small pages) and its total_count."""
    names: list[str] = []
    cursor = None
    total = None
    while True:
        query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/domains", headers=account.headers(), params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        names += [d["domain"] for d in body["data"]]
        total = body["meta"]["total_count"] if total is None else total
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            return names, total


def test_patch_sets_and_clears_the_portfolio_fields(client: TestClient, account: ApiAccount) -> None:
    ids = _add(client, account, ["a.example"])
    folder = _folder(client, account, "Brands")
    body = {
        "folder_id": folder,
        "is_favorite": True,
        "tags": ["Prod", "  EU ", "prod"],
        "notes": "owned by marketing",
        "custom_label": "Main site",
    }
    response = _patch(client, account, ids["a.example"], body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["folder_id"], data["is_favorite"], data["tags"]) == (folder, True, ["eu", "prod"])
    assert data["custom_label"] == "Main site"
    detail = client.get("/v1/domains/a.example", headers=account.headers()).json()["data"]
    assert detail["notes"] == "owned by marketing"
    assert detail["tags"] == ["eu", "prod"]

    cleared = _patch(client, account, "a.example", {"folder_id": None, "notes": None, "tags": []}).json()[
        "data"
    ]
    assert (cleared["folder_id"], cleared["tags"], cleared["is_favorite"]) == (None, [], True)
    assert client.get("/v1/domains/a.example", headers=account.headers()).json()["data"]["notes"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"colour": "red"},
        {"tags": ["x" * 41]},
        {"tags": [f"t{i}" for i in range(21)]},
        {"tags": ["-leading"]},
        {"notes": "x" * 10_001},
        {"custom_label": "x" * 101},
        {"folder_id": "not-a-folder"},
        {"is_favorite": None},
    ],
)
def test_patch_refuses_bad_fields(client: TestClient, account: ApiAccount, body: dict[str, Any]) -> None:
    _add(client, account, ["a.example"])
    response = _patch(client, account, "a.example", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_patch_into_a_missing_folder_is_400_and_changes_nothing(
    client: TestClient, account: ApiAccount
) -> None:
    _add(client, account, ["a.example"])
    response = _patch(client, account, "a.example", {"folder_id": "fld_" + "A" * 20, "is_favorite": True})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "folder_id"
    assert (
        client.get("/v1/domains/a.example", headers=account.headers()).json()["data"]["is_favorite"] is False
    )


def test_folders_crud_with_unique_names_and_counts(client: TestClient, account: ApiAccount) -> None:
    ids = _add(client, account, ["a.example", "b.example", "c.example"])
    folder = _folder(client, account, "Brands")
    assert client.post("/v1/folders", headers=account.headers(), json={"name": "brands"}).status_code == 409
    assert client.post("/v1/folders", headers=account.headers(), json={"name": " "}).status_code == 400
    assert client.post("/v1/folders", headers=account.headers(), json={"name": "x" * 101}).status_code == 400
    for name in ("a.example", "b.example"):
        assert _patch(client, account, ids[name], {"folder_id": folder}).status_code == 200
    listed = client.get("/v1/folders", headers=account.headers()).json()
    assert [(f["name"], f["domain_count"]) for f in listed["data"]] == [("Brands", 2)]

    renamed = client.patch(f"/v1/folders/{folder}", headers=account.headers(), json={"name": "Marques"})
    assert renamed.json()["data"]["name"] == "Marques"
    # The old name is free again, the new one taken.
    other = _folder(client, account, "brands")
    clash = client.patch(f"/v1/folders/{other}", headers=account.headers(), json={"name": "MARQUES"})
    assert clash.status_code == 409

    deleted = client.delete(f"/v1/folders/{folder}", headers=account.headers())
    assert deleted.json()["data"] == {"id": folder, "deleted": True, "domains_unfiled": 2}
    assert client.get(f"/v1/folders/{folder}", headers=account.headers()).status_code == 404
    # The domains stay, unfiled; moving one into the deleted folder is refused.
    names, total = _names(client, account, folder_id="none")
    assert (sorted(names), total) == (["a.example", "b.example", "c.example"], 3)
    assert _patch(client, account, "a.example", {"folder_id": folder}).status_code == 400


def test_tags_list_counts_and_bulk_update(client: TestClient, account: ApiAccount) -> None:
    names = [f"d{i}.example" for i in range(6)]
    ids = _add(client, account, names)
    response = client.post(
        "/v1/domains/bulk-update",
        headers=account.headers(),
        json={
            "ids": [ids[n] for n in names[:4]] + ["missing.example", "dom_" + "x" * 20],
            "add_tags": ["eu"],
        },
    )
    assert response.status_code == 200, response.text
    outcome = response.json()["data"]
    assert (outcome["submitted"], outcome["updated"], outcome["not_found"]) == (6, 4, 2)
    again = client.post(
        "/v1/domains/bulk-update",
        headers=account.headers(),
        json={"ids": names[:2], "add_tags": ["eu", "prod"], "is_favorite": True},
    ).json()["data"]
    assert (again["updated"], again["unchanged"]) == (2, 0)
    removed = client.post(
        "/v1/domains/bulk-update", headers=account.headers(), json={"ids": [names[0]], "remove_tags": ["eu"]}
    ).json()["data"]
    assert removed["updated"] == 1
    tags = client.get("/v1/tags", headers=account.headers()).json()["data"]
    assert tags == [{"tag": "eu", "count": 3}, {"tag": "prod", "count": 2}]

    bad = client.post("/v1/domains/bulk-update", headers=account.headers(), json={"ids": names[:1]})
    assert bad.status_code == 400
    too_many = client.post(
        "/v1/domains/bulk-update",
        headers=account.headers(),
        json={"ids": ["a.example"] * 501, "is_favorite": True},
    )
    assert too_many.status_code == 400
    both = client.post(
        "/v1/domains/bulk-update",
        headers=account.headers(),
        json={"ids": names[:1], "tags": [], "add_tags": ["x"]},
    )
    assert both.status_code == 400


def test_facet_filters_equal_a_brute_force_filter_after_random_changes(
    client: TestClient, account: ApiAccount
) -> None:
    rng = random.Random(7)
    names = [f"n{i:02d}.example" for i in range(40)]
    _add(client, account, names)
    folders = [_folder(client, account, f"F{i}") for i in range(3)]
    tags = ["eu", "us", "prod", "test"]
    for _ in range(120):
        name = rng.choice(names)
        body: dict[str, Any] = rng.choice(
            [
                {"folder_id": rng.choice([*folders, None])},
                {"is_favorite": rng.random() < 0.5},
                {"tags": rng.sample(tags, rng.randint(0, 3))},
            ]
        )
        assert _patch(client, account, name, body).status_code == 200
    for name in rng.sample(names, 5):
        assert client.post(f"/v1/domains/{name}/deactivate", headers=account.headers()).status_code == 200
    for name in rng.sample(names, 3):
        client.delete(f"/v1/domains/{name}", headers=account.headers())
    deleted_folder = folders.pop()
    assert client.delete(f"/v1/folders/{deleted_folder}", headers=account.headers()).status_code == 200

    everything, _ = _names(client, account)
    state = {n: client.get(f"/v1/domains/{n}", headers=account.headers()).json()["data"] for n in everything}

    def brute(**wanted: Any) -> list[str]:
        def ok(d: dict[str, Any]) -> bool:
            if "folder_id" in wanted and (d["folder_id"] or "none") != wanted["folder_id"]:
                return False
            if "tag" in wanted and not set(wanted["tag"]) <= set(d["tags"]):
                return False
            if "is_favorite" in wanted and d["is_favorite"] != wanted["is_favorite"]:
                return False
            return not ("status" in wanted and d["status"] != wanted["status"])

        return sorted(n for n, d in state.items() if ok(d))

    cases: list[dict[str, Any]] = [
        {"folder_id": folders[0]},
        {"folder_id": "none"},
        {"tag": ["eu"]},
        {"tag": ["eu", "prod"]},
        {"is_favorite": True},
        {"is_favorite": False},
        {"status": "inactive"},
        {"folder_id": folders[1], "tag": ["us"], "is_favorite": True},
        {"status": "active", "tag": ["test"]},
    ]
    for case in cases:
        listed, total = _names(client, account, **case)
        assert listed == brute(**case), case
        assert total == len(listed), case
    # Facet filters combine with search.
    listed, total = _names(client, account, search="n1", tag=["eu"])
    assert listed == [n for n in brute(tag=["eu"]) if "n1" in n]
    assert total == len(listed)


def test_facet_filters_validation(client: TestClient, account: ApiAccount) -> None:
    for params in ({"folder_id": "x"}, {"status": "gone"}, {"tag": ["x" * 41]}, {"is_favorite": "maybe"}):
        response = client.get("/v1/domains", headers=account.headers(), params=params)
        assert response.status_code == 400, params


def test_folders_and_tags_are_per_tenant(
    client: TestClient, account: ApiAccount, other_account: ApiAccount
) -> None:
    _add(client, account, ["a.example"])
    folder = _folder(client, account, "Mine")
    _patch(client, account, "a.example", {"folder_id": folder, "tags": ["secret"]})
    for method, path in (("GET", f"/v1/folders/{folder}"), ("DELETE", f"/v1/folders/{folder}")):
        assert client.request(method, path, headers=other_account.headers()).status_code == 404
    rename = client.patch(f"/v1/folders/{folder}", headers=other_account.headers(), json={"name": "x"})
    assert rename.status_code == 404
    assert client.get("/v1/tags", headers=other_account.headers()).json()["data"] == []
    assert client.get("/v1/folders", headers=other_account.headers()).json()["data"] == []
    # The same account's test environment sees none of the live folders and tags either.
    assert client.get("/v1/folders", headers=account.headers("test")).json()["data"] == []
    assert client.get(f"/v1/folders/{folder}", headers=account.headers("test")).status_code == 404
    # Another tenant cannot file its domain into this folder.
    _add(client, other_account, ["b.example"])
    moved = client.patch("/v1/domains/b.example", headers=other_account.headers(), json={"folder_id": folder})
    assert moved.status_code == 400
    names, _ = _names(client, account, folder_id=folder)
    assert names == ["a.example"]
