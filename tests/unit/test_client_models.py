"""The client's own resource models (dmarcwatch.client.models) say what the API's models say: the same
fields, nested models included, and the same optional ones. It keeps the boto3-free copies honest."""

from __future__ import annotations

import sys
import typing
from types import UnionType
from typing import Any

import pytest
from pydantic import BaseModel

from dmarcwatch.api import account_schemas, domain_schemas, portfolio_schemas
from dmarcwatch.client import models

PAIRS: list[tuple[type[BaseModel], type[BaseModel]]] = [
    (models.Domain, domain_schemas.DomainOut),
    (models.DomainDetail, domain_schemas.DomainDetailOut),
    (models.BulkAddResult, domain_schemas.BulkAddOut),
    (models.DomainDeleted, domain_schemas.DomainDeleted),
    (models.BulkUpdateResult, portfolio_schemas.BulkUpdateOut),
    (models.Folder, portfolio_schemas.FolderOut),
    (models.FolderDeleted, portfolio_schemas.FolderDeleted),
    (models.Tag, portfolio_schemas.TagOut),
    (models.DashboardSummary, portfolio_schemas.DashboardSummaryOut),
    (models.ApiKey, account_schemas.KeyOut),
]


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) in (list, typing.Union):
        for arg in typing.get_args(annotation):
            if found := _nested(arg):
                return found
    return None


def _compare(ours: type[BaseModel], theirs: type[BaseModel], where: str) -> None:
    assert set(ours.model_fields) == set(theirs.model_fields), where
    for name, field in ours.model_fields.items():
        other = theirs.model_fields[name]
        assert field.is_required() == other.is_required(), f"{where}.{name}"
        mine, api = _nested(field.annotation), _nested(other.annotation)
        if mine and api:
            _compare(mine, api, f"{where}.{name}")


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda m: m.__name__)
def test_client_models_have_the_fields_of_the_api_models(
    ours: type[BaseModel], theirs: type[BaseModel]
) -> None:
    _compare(ours, theirs, ours.__name__)


def test_the_client_imports_neither_fastapi_nor_boto3() -> None:
    import subprocess

    code = (
        "import sys, dmarcwatch.client, dmarcwatch.cli_client; "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for heavy in ("fastapi", "starlette", "boto3", "botocore", "mangum"):
        assert f"'{heavy}'" not in loaded, heavy
