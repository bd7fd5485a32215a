"""The function registry: which routers each API Lambda serves (design.md §3).

This is the one list of endpoints. The local app mounts every group, each Lambda mounts its own group,
and the CDK stack creates the API Gateway resources, methods and functions by reading `route_specs()`.
Adding an endpoint is adding a route to a router; adding a group is one entry here plus its
`functions/api_<group>/handler.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from fastapi import APIRouter
from fastapi.routing import APIRoute

API_PREFIX = "/v1"


@dataclass(frozen=True)
class FunctionGroup:
    name: str
    # Modules under dmarcwatch.api.routers, each exposing `router`.
    router_modules: tuple[str, ...]
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 29

    @property
    def function_dir(self) -> str:
        """The folder under functions/ holding this group's thin handler."""
        return f"api_{self.name}"


FUNCTION_GROUPS: tuple[FunctionGroup, ...] = (
    FunctionGroup("meta", ("meta",), "Health and API index"),
    FunctionGroup("account", ("account", "keys"), "Account and API keys"),
    FunctionGroup("domains", ("domains",), "Monitored domains"),
)


@dataclass(frozen=True)
class RouteSpec:
    group: str
    method: str
    # Relative to the API base path (the API Gateway stage `v1`), e.g. "/domains/{id}".
    path: str
    public: bool
    name: str


def group_named(name: str) -> FunctionGroup:
    for group in FUNCTION_GROUPS:
        if group.name == name:
            return group
    raise KeyError(name)


def routers_for(group: FunctionGroup) -> list[APIRouter]:
    return [import_module(f"dmarcwatch.api.routers.{m}").router for m in group.router_modules]


def is_public(route: APIRoute) -> bool:
    """Public routes are the ones that do not depend on the authenticated principal."""
    return bool((route.openapi_extra or {}).get("x-public"))


def route_specs() -> list[RouteSpec]:
    specs: list[RouteSpec] = []
    for group in FUNCTION_GROUPS:
        for router in routers_for(group):
            for route in router.routes:
                assert isinstance(route, APIRoute)
                for method in sorted(route.methods or ()):
                    specs.append(RouteSpec(group.name, method, route.path, is_public(route), route.name))
    return specs
