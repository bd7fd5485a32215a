"""The client's errors: the API's error envelope, typed, or what stood in for it (a gateway's page)."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from dmarcwatch.api.schemas import ErrorDetail, ErrorEnvelope


class ClientError(Exception):
    """Anything the client raises on purpose."""


class ApiRequestError(ClientError):
    """A request the API refused or failed: `code`, `message`, `details` and `request_id` of its envelope.

    A body that is not the envelope (an API Gateway or proxy page) gets `code` `http_<status>` and the
    start of the text as `message`, so callers handle one type.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        details: list[ErrorDetail] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or []
        self.request_id = request_id
        # Seconds the server asked to wait (a 429 refused because its wait exceeds the client's cap).
        self.retry_after = retry_after
        suffix = f" (request {request_id})" if request_id else ""
        super().__init__(f"{status_code} {code}: {message}{suffix}")

    @classmethod
    def of(cls, response: httpx.Response, retry_after: float | None = None) -> ApiRequestError:
        try:
            body = ErrorEnvelope.model_validate_json(response.content).error
        except ValidationError:
            text = response.text.strip().replace("\n", " ")
            return cls(
                response.status_code,
                f"http_{response.status_code}",
                text[:200] or response.reason_phrase,
                request_id=response.headers.get("x-request-id"),
                retry_after=retry_after,
            )
        return cls(
            response.status_code,
            body.code,
            body.message,
            details=body.details,
            request_id=body.request_id,
            retry_after=retry_after,
        )


class ExportFailedError(ClientError):
    """An export waited for ended `failed` (its `error` says why)."""

    def __init__(self, export_id: str, error: str | None) -> None:
        self.export_id = export_id
        self.error = error
        super().__init__(f"export {export_id} failed: {error or 'no reason given'}")


class WaitTimeoutError(ClientError):
    """An export was still queued or running when the wait ran out."""
