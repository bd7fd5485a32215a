"""API tests: the full ASGI app in process over moto, with accounts made by the admin service."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from dmarcwatch.plans import PlanName


@dataclass
class ApiAccount:
    id: str
    live_key: str
    test_key: str

    def headers(self, environment: str = "live") -> dict[str, str]:
        key = self.live_key if environment == "live" else self.test_key
        return {"Authorization": f"Bearer {key}"}


_addresses = itertools.count()


@pytest.fixture
def client(aws: None) -> Iterator[TestClient]:
    from dmarcwatch.api.app import create_app

    # A distinct client address per test keeps the per-IP failed-auth counter of one test from another.
    address = f"192.0.2.{next(_addresses) % 250 + 1}"
    with TestClient(create_app(), raise_server_exceptions=False, client=(address, 50000)) as test_client:
        yield test_client


@pytest.fixture
def make_account(aws: None) -> Callable[..., ApiAccount]:
    from dmarcwatch.services import admin

    def make(plan: PlanName = PlanName.PRO, expires_in_days: int | None = 365) -> ApiAccount:
        created = admin.create_account(f"user-{uuid.uuid4().hex}@example.com", plan, None, expires_in_days)
        return ApiAccount(created.account.id, created.live_key.secret, created.test_key.secret)

    return make


@pytest.fixture
def account(make_account: Callable[..., ApiAccount]) -> ApiAccount:
    return make_account()


@pytest.fixture
def other_account(make_account: Callable[..., ApiAccount]) -> ApiAccount:
    return make_account()
