"""The error responses each operation declares in the OpenAPI document, derived from the route itself.

A client generated from docs/openapi.json should know every status an operation can answer, and the
document must not promise what the API never sends. So the declarations follow the route, never a list
kept by hand:
- 400 `validation_error` / `invalid_date` where the route takes input (path, query or body parameters).
  FastAPI's own 422 `HTTPValidationError` is removed: the error handlers answer 400 in the envelope.
- 401 and 403 where the route needs an API key (every route not marked `x-public`); 403 covers both
  `subscription_required` and `forbidden` (a key whose scope does not allow the call).
- 404 where the path takes an id (also what another tenant's id gets).
- 429 and 500 everywhere: the stage throttle and the WAF answer 429 even before the app runs.
Anything else a route can answer (409, 413) it declares with `error_responses(...)` in its decorator.
`DocumentedRoute` is the routers' route class that adds the derived ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute

from dmarcwatch.api.schemas import ErrorEnvelope

_DESCRIPTIONS: dict[int, str] = {
    400: "validation_error or invalid_date: `details` names each field",
    401: "invalid_api_key (missing, malformed, unknown or revoked) or key_expired",
    403: "subscription_required; production_access_required (a live key of an account the operator has "
    "not granted production access); or forbidden: the key's scope does not allow this call",
    404: "not_found (also for every id of another account or environment)",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limit_exceeded or quota_exceeded, with Retry-After",
    500: "internal_error: quote the request id to support",
}
_VALIDATION_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these statuses, each with the error envelope as its body."""
    return {status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]} for status in statuses}


def _takes_input(dependant: Dependant) -> bool:
    own = (
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )
    return bool(own) or any(_takes_input(sub) for sub in dependant.dependencies)


def derived_errors(path: str, endpoint: Callable[..., Any], *, public: bool) -> list[int]:
    """The error statuses a route can answer by its shape (see the module docstring)."""
    dependant = get_dependant(path=path, call=endpoint)
    statuses = {429, 500}
    if _takes_input(dependant):
        statuses.add(400)
    if not public:
        statuses |= {401, 403}
    if dependant.path_params:
        statuses.add(404)
    return sorted(statuses)


class DocumentedRoute(APIRoute):
    """An APIRoute that declares the error responses its shape implies, beside its own `responses`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        public = bool((kwargs.get("openapi_extra") or {}).get("x-public"))
        derived = error_responses(*derived_errors(path, endpoint, public=public))
        kwargs["responses"] = {**derived, **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)


def without_fastapi_422(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the 422 FastAPI adds to every operation with parameters (the API answers 400 instead), and
    declare the conditional GET (`api/etag.py`): every GET's 200 carries an ETag, and If-None-Match
    naming it answers 304 without a body."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if method == "get" and "200" in responses:
                responses["200"].setdefault("headers", {})["ETag"] = {
                    "description": "Weak tag of the body (without meta.request_id); send it in If-None-Match",
                    "schema": {"type": "string"},
                }
                responses["304"] = {"description": "Not modified: If-None-Match names the current ETag"}
    schemas = document.get("components", {}).get("schemas", {})
    for name in _VALIDATION_ERROR_SCHEMAS:
        schemas.pop(name, None)
    return document
