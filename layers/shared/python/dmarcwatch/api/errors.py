"""Every error leaves the API in the envelope, with the request id and never a stack trace."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dmarcwatch.api.context import request_id_of
from dmarcwatch.errors import STATUS_BY_CODE, ApiError, ErrorCode
from dmarcwatch.observability import logger

_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED, 413: ErrorCode.PAYLOAD_TOO_LARGE}


def error_response(
    request: Request,
    code: ErrorCode,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = request_id_of(request)
    body = {
        "error": {"code": code.value, "message": message, "request_id": request_id, "details": details or []}
    }
    return JSONResponse(
        body, status_code=STATUS_BY_CODE[code], headers={**(headers or {}), "X-Request-Id": request_id}
    )


def _validation_details(error: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        details.append(
            {"field": ".".join(location) or "body", "issue": item.get("type"), "message": item.get("msg")}
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(request, error.code, error.message, error.details, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(
            request, ErrorCode.VALIDATION_ERROR, "the request is invalid", _validation_details(error)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, ErrorCode.VALIDATION_ERROR)
        message = "no such endpoint" if code == ErrorCode.NOT_FOUND else str(error.detail)
        return error_response(request, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"request_id": request_id_of(request)})
        return error_response(
            request, ErrorCode.INTERNAL_ERROR, "internal error; quote the request id to support"
        )
