"""A faster response path for moto's DynamoDB item operations (the local stack and the tests only).

moto 5.2 turns every result into JSON by walking the botocore output shape member by member: for a
`Query` of 25 items that is most of the emulator's CPU, and the local API makes four or five such calls
per request. An item operation's result is already DynamoDB's wire form (`DynamoResult` expands moto's
types into `{"S": …}` dicts), so for those operations it is dumped as JSON directly: bytes as base64,
times as epoch seconds, `None` members left out (only the top level has them: an attribute value is never
None), as the shape-driven serializer does. Every other
operation, and every error, still goes through moto's serializer. `tests/unit/test_moto_patches.py`
compares both paths on items of every attribute type.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication
from werkzeug.http import HTTP_STATUS_CODES

# Operations whose output is items, keys and consumed capacity: the calls the app makes on every request.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)

_applied = False


def _wire(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def dump(result: dict[str, Any], members: Collection[str]) -> str:
    """The JSON body DynamoDB would send for an item operation's `result` (its output shape's `members`;
    moto adds a few legacy ones, e.g. `ConsumedCapacityUnits`, that the shape leaves out)."""
    kept = {name: value for name, value in result.items() if value is not None and name in members}
    return json.dumps(kept, default=_wire, separators=(",", ":"))


def _dynamodb_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A WSGI app for DynamoDB calls: what moto's Flask app does for them, without Flask."""
    request = BackendRequest(environ)
    try:
        status, headers, body = DynamoHandler.dispatch(request, request.raw_url, dict(request.headers))
    except ClientError as error:  # as moto's Flask view answers it
        status, headers, body = 400, {}, error.response["Error"]["Message"]
    payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    fields = [(name, str(value)) for name, value in headers.items() if name.lower() not in _HOP_HEADERS]
    fields.append(("Content-Length", str(len(payload))))
    start_response(f"{int(status)} {HTTP_STATUS_CODES.get(int(status), '')}", fields)
    return [payload]


# Set by the WSGI server or by us (moto puts "status" among its headers).
_HOP_HEADERS = frozenset({"status", "content-length", "connection", "transfer-encoding"})


def apply() -> None:
    """Answer DynamoDB's item operations without the shape-driven serializer (idempotent)."""
    global _applied
    if _applied:
        return
    shape_driven = DynamoResult.execute_result

    def execute_result(self: DynamoResult, context: ActionContext) -> Any:
        operation = context.operation_model
        shape = operation.output_shape
        if operation.name not in ITEM_OPERATIONS or shape is None or not isinstance(self.result, dict):
            return shape_driven(self, context)
        version = operation.service_model.metadata.get("jsonVersion", "1.0")
        headers = {"Content-Type": f"application/x-amz-json-{version}"}
        return 200, headers, dump(self.result, shape.members)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign,assignment]

    dispatch = DomainDispatcherApplication.get_application

    def get_application(self: DomainDispatcherApplication, environ: dict[str, Any]) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return _dynamodb_app
        return dispatch(self, environ)

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
    _applied = True
