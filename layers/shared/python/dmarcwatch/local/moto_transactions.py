"""Item-level rollback for moto's DynamoDB transactions (the local stack and the tests only).

moto 5 snapshots a whole table with `copy.deepcopy` for every item of every TransactWriteItems call so
that it can roll a cancelled transaction back. On a table holding a 100,000-record report that is
seconds per call, and two threads writing at once make the copy fail with "dictionary changed size
during iteration". DynamoDB itself does neither. This patch keeps moto's semantics (all or nothing,
the same cancellation reasons) but snapshots only the items the transaction touches, and runs one
transaction at a time.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_table

_LOCK = threading.RLock()
_applied = False


class _NoTableCopy:
    """Stands in for the `copy` module inside moto's backend: tables are not copied, the rest is."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, moto_table.Table):
            return value
        return copy.deepcopy(value, memo)


def _touched(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    touched = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = backend.get_table(op["TableName"])
        keys = op.get("Key") or {
            name: op["Item"][name]
            for name in (table.hash_key_attr, table.range_key_attr)
            if name and name in op.get("Item", {})
        }
        try:
            hash_key, range_key = backend.get_keys_value(table, keys)
        except Exception:  # noqa: S112 (moto raises its own validation error for this item)
            continue
        item = table.get_item(hash_key, range_key)
        touched.append((table, (hash_key, range_key), copy.deepcopy(item) if item is not None else None))
    return touched


def _restore(touched: list[tuple[Any, Any, Any]]) -> None:
    for table, (hash_key, range_key), item in reversed(touched):
        if item is None:
            if table.get_item(hash_key, range_key) is not None:
                table.delete_item(hash_key, range_key)
        elif range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item


def apply() -> None:
    """Install the patch (idempotent)."""
    global _applied
    if _applied:
        return
    import moto.dynamodb.models as backend_module

    original = DynamoDBBackend.transact_write_items
    backend_module.copy = _NoTableCopy  # type: ignore[attr-defined,assignment]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            touched = _touched(self, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                _restore(touched)
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied = True
