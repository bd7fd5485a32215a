"""A typed Python client of the dmarcwatch API (what `dmarcwatch domains|export` run on).

It needs httpx and pydantic only: no FastAPI, no boto3, and no Lambda code path imports it (import-linter).
"""

from dmarcwatch.client.errors import ApiRequestError, ClientError, ExportFailedError, WaitTimeoutError
from dmarcwatch.client.resources import UNSET, DmarcwatchClient
from dmarcwatch.client.retry import RetryPolicy, retry_after_seconds

__all__ = [
    "UNSET",
    "ApiRequestError",
    "ClientError",
    "DmarcwatchClient",
    "ExportFailedError",
    "RetryPolicy",
    "WaitTimeoutError",
    "retry_after_seconds",
]
