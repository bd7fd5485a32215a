"""The ASGI app factory: the local stack mounts every group, each Lambda mounts its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request, Response

from dmarcwatch import __version__
from dmarcwatch.api.context import request_id_of
from dmarcwatch.api.contracts import without_fastapi_422
from dmarcwatch.api.errors import install_error_handlers
from dmarcwatch.api.etag import etag_of, matches
from dmarcwatch.api.query_guard import reject_unknown_query
from dmarcwatch.api.registry import API_PREFIX, FUNCTION_GROUPS, FunctionGroup, routers_for
from dmarcwatch.observability import logger


class DmarcwatchApi(FastAPI):
    """FastAPI whose OpenAPI document declares the API's own 400 envelope instead of FastAPI's 422."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = without_fastapi_422(super().openapi())
        return self.openapi_schema


def create_app(groups: Sequence[FunctionGroup] = FUNCTION_GROUPS, *, prefix: str = API_PREFIX) -> FastAPI:
    """`prefix` is /v1 locally; in Lambda it is empty because the API Gateway stage `v1` carries it."""
    app = DmarcwatchApi(
        title="dmarcwatch API",
        version=__version__,
        description="DMARC reports and DNS intelligence for the domains you monitor.",
        docs_url="/docs" if prefix else None,
        redoc_url=None,
        openapi_url=f"{prefix}/openapi.json" if prefix else None,
        servers=[{"url": API_PREFIX if not prefix else "/"}],
        dependencies=[Depends(reject_unknown_query)],
    )
    app.state.prefix = prefix
    install_error_handlers(app)
    for group in groups:
        for router in routers_for(group):
            app.include_router(router, prefix=prefix)

    @app.middleware("http")
    async def _request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request_id_of(request)
        logger.append_keys(request_id=request_id)
        response = await call_next(request)
        if request.method == "GET" and response.status_code == 200:
            response = await _conditional(request, response)
        response.headers["X-Request-Id"] = request_id
        for name, value in (getattr(request.state, "rate_headers", None) or {}).items():
            response.headers.setdefault(name, value)
        logger.info(
            "request",
            extra={"method": request.method, "path": request.url.path, "status": response.status_code},
        )
        return response

    return app


async def _conditional(request: Request, response: Response) -> Response:
    """Add the ETag to a 200 GET; answer 304 without a body when If-None-Match names it."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    tag = etag_of(body)
    if tag is not None:
        headers["ETag"] = tag
        if matches(request.headers.get("if-none-match"), tag):
            headers.pop("content-type", None)
            return Response(status_code=304, headers=headers)
    return Response(content=body, status_code=response.status_code, headers=headers)
