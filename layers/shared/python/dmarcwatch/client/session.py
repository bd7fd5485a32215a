"""The HTTP core of the client: the key, retries, the error envelope and cursor paging.

Any `httpx.Client` can carry the requests (`http=`), which is how the tests hand it FastAPI's TestClient
or an `httpx.MockTransport`; URLs are built absolute from `base_url` (the API's base path included,
`…/v1`), so the client's own `base_url` does not matter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from dmarcwatch.client.errors import ApiRequestError
from dmarcwatch.client.retry import RETRIED_STATUSES, RetryPolicy, retry_after_seconds

USER_AGENT = "dmarcwatch-client/0.1"
# The page size paginate() asks for unless told: the API's largest.
PAGE_SIZE = 1000

Params = Mapping[str, Any]


QueryPairs = list[tuple[str, str | int | float | bool | None]]


def _query(params: Params | None) -> QueryPairs:
    """Query pairs: None dropped, booleans as true/false, sequences repeated (`tag=a&tag=b`).

    Pairs, not an httpx.QueryParams: a session built on another httpx (Starlette's TestClient can be)
    would read that as a mapping and keep one value per name."""
    pairs: QueryPairs = []
    for name, value in (params or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


class ApiSession:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.Client | None = None,
        files: httpx.Client | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required (dmw_live_… or dmw_test_…)")
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None
        # Fetches presigned export links (S3, without the API key); a plain client per download if None.
        self.files = files
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._now = now

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """One API call with retries; the response when 2xx or 304, else ApiRequestError."""
        safe = method.upper() != "POST" if idempotent is None else idempotent
        request_headers = {**self._headers, **(headers or {})}
        attempt = 1
        while True:
            try:
                response = self._http.request(
                    method,
                    self.url(path),
                    params=_query(params),
                    json=json,
                    content=content,
                    headers=request_headers,
                )
            except httpx.TransportError:
                if not safe or attempt >= self.retry.max_attempts:
                    raise
                self._sleep(self.retry.backoff(attempt))
                attempt += 1
                continue
            if response.status_code < 400:
                return response
            delay = self._retry_delay(response, attempt, safe)
            if delay is None:
                raise ApiRequestError.of(response, retry_after=self._asked_wait(response))
            self._sleep(delay)
            attempt += 1

    def _asked_wait(self, response: httpx.Response) -> float | None:
        return retry_after_seconds(response.headers.get("retry-after"), self._now())

    def _retry_delay(self, response: httpx.Response, attempt: int, safe: bool) -> float | None:
        """Seconds to wait before trying again, or None to raise this response."""
        status = response.status_code
        if attempt >= self.retry.max_attempts:
            return None
        if status == 429 or (status in RETRIED_STATUSES and safe):
            asked = self._asked_wait(response)
            if asked is None:
                return self.retry.backoff(attempt)
            return asked if asked <= self.retry.max_retry_after else None
        return None

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The `data` of the answer's envelope."""
        return self.send(method, path, **kwargs).json()["data"]

    def paginate(
        self, path: str, params: Params | None = None, *, page_size: int = PAGE_SIZE
    ) -> Iterator[Any]:
        """Every item of a list endpoint, following `meta.next_cursor` with the same filters."""
        query = {"limit": page_size, **(params or {})}
        while True:
            body = self.send("GET", path, params=query).json()
            yield from body["data"]
            cursor = (body.get("meta") or {}).get("next_cursor")
            if not cursor:
                return
            query = {**query, "cursor": cursor}
