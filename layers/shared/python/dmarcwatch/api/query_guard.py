"""Unknown query parameters are a 400, not silently ignored: `?offset=250` (seed 002's paging) or a typo
such as `?dmarc_stauts=none` would otherwise answer the first, unfiltered page as if it were what was
asked for."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from dmarcwatch.errors import ApiError, ErrorCode

_ALLOWED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route: its own and those of every dependency (the list filters)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


def _allowed(route: APIRoute) -> frozenset[str]:
    found = _ALLOWED.get(id(route))
    if found is None:
        found = frozenset(_query_names(route.dependant))
        _ALLOWED[id(route)] = found
    return found


async def reject_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _allowed(route)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"unknown query parameter(s): {', '.join(unknown)}; this endpoint takes: {takes}",
            details=[
                {"field": f"query.{name}", "issue": "unknown", "message": "not a parameter here"}
                for name in unknown
            ],
        )
