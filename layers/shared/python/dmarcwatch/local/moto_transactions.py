"""Faster DynamoDB transactions in moto (the local stack and the tests only; DynamoDB is not affected).

1. moto 5 snapshots a whole table with `copy.deepcopy` for every item of every TransactWriteItems call
   so that it can roll a cancelled transaction back. On a table holding a 100,000-record report that is
   seconds per call, and two threads writing at once make the copy fail with "dictionary changed size
   during iteration". This patch keeps moto's semantics (all or nothing, the same cancellation reasons)
   but snapshots only the items the transaction touches, and runs one transaction at a time.
2. moto validates an update expression by walking its syntax tree many times over: about 8 ms for each
   counter update the statistics make, 100,000 of them for one large report. Inside a transaction, an
   unconditional update of exactly the counter shape (`ADD #a :a, ... [SET #x = if_not_exists(#x, :x),
   ...]`) is applied directly instead, with DynamoDB's meaning: a missing number counts as 0, and
   `if_not_exists` keeps a present value. Every other update goes through moto unchanged.
3. moto answers a Query by sorting every item of the table, then keeping the partition asked for: with a
   100,000-record report stored, every query of the API took hundreds of milliseconds. A query of the
   table reads only its partition. A query of an index reads the items of its index partition, kept per
   table until an indexed item is put, updated or deleted (writes of counters and records, which no
   index holds, keep them): with 200,000 items stored, moto compared every one on every index query.
4. The same counter shape in a single UpdateItem (the API's rate counter on every request, the scan
   budget), with or without a condition, skips moto's expression machinery too: the condition is still
   evaluated by moto's own condition parser (a failure raises the same error, with the old item when
   asked), the update is applied under a lock of its own, and the names and values must all be used
   (else moto answers, with its validation error). ReturnValues NONE, ALL_NEW and UPDATED_NEW (the
   attributes whose value changed, as moto returns them) are served; anything else goes through moto.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from moto.dynamodb.comparisons import create_condition_expression_parser
from moto.dynamodb.exceptions import ConditionalCheckFailed
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_table
from moto.dynamodb.responses import DynamoHandler, DynamoResult

_LOCK = threading.RLock()
# Single counter updates (point 4) take their own lock: an API call's rate counter must not wait behind a
# worker's 100-item statistics transaction (no transaction writes the counters these updates serve).
_SINGLE_LOCK = threading.Lock()
_applied = False
_in_transaction = threading.local()
_query_scope = threading.local()

_ADD = r"#\w+ :\w+"
_KEEP = r"#\w+ = if_not_exists\(#\w+, :\w+\)"
_ADD_PARTS = re.compile(r"#(\w+) :(\w+)")
_KEEP_PARTS = re.compile(r"#(\w+) = if_not_exists\(#(\w+), :(\w+)\)")
_COUNTER_UPDATE = re.compile(rf"ADD ({_ADD}(?:, {_ADD})*)(?: SET ({_KEEP}(?:, {_KEEP})*))?")


def _counter_update(
    backend: DynamoDBBackend,
    table_name: str,
    key: dict[str, Any],
    update_expression: str,
    names: dict[str, str],
    values: dict[str, Any],
) -> Any:
    """Apply a counter update directly; None when the expression is not of that shape."""
    match = _COUNTER_UPDATE.fullmatch(update_expression or "")
    if match is None:
        return None
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, key)
    current = table.get_item(hash_key, range_key)
    attrs: dict[str, Any] = copy.deepcopy(current.to_json()["Attributes"]) if current else dict(key)
    for name_ref, value_ref in _ADD_PARTS.findall(match.group(1)):
        name = names[f"#{name_ref}"]
        before = Decimal(attrs[name]["N"]) if name in attrs else Decimal(0)
        attrs[name] = {"N": str(before + Decimal(values[f":{value_ref}"]["N"]))}
    for name_ref, checked_ref, value_ref in _KEEP_PARTS.findall(match.group(2) or ""):
        if checked_ref != name_ref:  # SET a = if_not_exists(b, v): not a shape this handles
            return None
        attrs.setdefault(names[f"#{name_ref}"], values[f":{value_ref}"])
    return table.put_item(attrs)


def _single_counter_update(handler: DynamoHandler) -> DynamoResult | None:
    """Serve an UpdateItem of the counter shape (point 4 above); None to leave it to moto."""
    body = handler.body
    expression = (body.get("UpdateExpression") or "").strip()
    return_values = body.get("ReturnValues", "NONE")
    if (
        _COUNTER_UPDATE.fullmatch(expression) is None
        or return_values not in ("NONE", "ALL_NEW", "UPDATED_NEW")
        or body.get("ReturnConsumedCapacity") not in (None, "NONE")
        or body.get("ReturnItemCollectionMetrics") not in (None, "NONE")
        or "AttributeUpdates" in body
        or "Expected" in body
    ):
        return None
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    used_names = set(re.findall(r"#\w+", expression))
    used_values = set(re.findall(r":\w+", expression))
    condition = body.get("ConditionExpression")
    parser = create_condition_expression_parser(condition, names, values) if condition else None
    check = parser.parse() if parser is not None else None
    if parser is not None:
        used_names.update(parser.expr_attr_names_found)
        used_values.update(parser.expr_attr_values_found)
    if used_names != set(names) or used_values != set(values):
        return None
    backend = handler.dynamodb_backend
    table = backend.get_table(body["TableName"])
    with _SINGLE_LOCK:
        hash_key, range_key = backend.get_keys_value(table, body["Key"])
        current = table.get_item(hash_key, range_key)
        # No copy needed: the update below puts a new item and leaves `current` as it was.
        before = current.to_json()["Attributes"] if current is not None else {}
        if check is not None and not check.expr(current):
            if body.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                raise ConditionalCheckFailed(item=before)
            raise ConditionalCheckFailed
        item = _counter_update(backend, body["TableName"], body["Key"], expression, names, values)
    if item is None:
        return None
    after = item.to_json()["Attributes"]
    if return_values == "NONE":
        return DynamoResult({})
    if return_values == "UPDATED_NEW":
        after = {name: value for name, value in after.items() if before.get(name) != value}
    return DynamoResult({"Attributes": after})


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
        index_changed(table)
        if item is None:
            if table.get_item(hash_key, range_key) is not None:
                table.delete_item(hash_key, range_key)
        elif range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item


def _index_hash_attributes(table: moto_table.Table) -> frozenset[str]:
    return frozenset(
        key["AttributeName"]
        for index in table.all_indexes()
        for key in index.schema
        if key["KeyType"] == "HASH"
    )


def _indexed(table: moto_table.Table, item: Any) -> bool:
    """Whether `item` (an Item, a wire-form dict or None) sits in one of the table's indexes."""
    if item is None:
        return False
    attrs = getattr(item, "attrs", item)
    return not _index_hash_attributes(table).isdisjoint(attrs)


def index_changed(table: moto_table.Table) -> None:
    """Forget the table's index partitions (an indexed item was written, changed or deleted)."""
    table.__dict__["_dmarcwatch_index_generation"] = table.__dict__.get("_dmarcwatch_index_generation", 0) + 1


def _index_partition(table: moto_table.Table, index_name: str, hash_value: Any) -> list[Any]:
    """The items of one index partition, kept until an indexed item of the table changes."""
    generation = table.__dict__.get("_dmarcwatch_index_generation", 0)
    cache: dict[tuple[str, str], tuple[int, list[Any]]] = table.__dict__.setdefault(
        "_dmarcwatch_index_cache", {}
    )
    wanted = (index_name, str(hash_value.value))
    cached = cache.get(wanted)
    if cached is not None and cached[0] == generation:
        return cached[1]
    index = next(i for i in table.all_indexes() if i.name == index_name)
    attribute = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
    everything: Iterable[Any] = (
        (item for partition in table.items.values() for item in partition.values())
        if table.range_key_attr
        else table.items.values()
    )
    found = []
    for item in everything:
        value = item.attrs.get(attribute)
        if value is not None and value.type == hash_value.type and value.value == hash_value.value:
            found.append(item)
    if len(cache) > 10_000:
        cache.clear()
    cache[wanted] = (generation, found)
    return found


def _patch_queries() -> None:
    original_query = moto_table.Table.query
    original_all_items = moto_table.Table.all_items
    original_put = moto_table.Table.put_item
    original_delete = moto_table.Table.delete_item

    def query(self: moto_table.Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _query_scope.value = (self, hash_key, index_name)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_scope.value = None

    def all_items(self: moto_table.Table) -> list[Any]:
        scope = getattr(_query_scope, "value", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        _, hash_key, index_name = scope
        if index_name is not None:
            return list(_index_partition(self, index_name, hash_key))
        if self.range_key_attr:
            return list(self.items.get(hash_key, {}).values())
        return list(self.items.values())

    def put_item(self: moto_table.Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        before = None
        if self.hash_key_attr in item_attrs:
            try:
                hash_key, range_key = _key_of(self, item_attrs)
                before = self.get_item(hash_key, range_key)
            except Exception:  # the malformed key is moto's to report, below
                before = None
        stored = original_put(self, item_attrs, *args, **kwargs)
        if _indexed(self, before) or _indexed(self, item_attrs):
            index_changed(self)
        return stored

    def delete_item(self: moto_table.Table, *args: Any, **kwargs: Any) -> Any:
        deleted = original_delete(self, *args, **kwargs)
        if _indexed(self, deleted):
            index_changed(self)
        return deleted

    moto_table.Table.query = query  # type: ignore[method-assign]
    moto_table.Table.all_items = all_items  # type: ignore[method-assign]
    moto_table.Table.put_item = put_item  # type: ignore[method-assign]
    moto_table.Table.delete_item = delete_item  # type: ignore[method-assign]


def _key_of(table: moto_table.Table, attrs: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
    return hash_key, range_key


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
            _in_transaction.active = True
            try:
                original(self, transact_items)
            except Exception:
                _restore(touched)
                raise
            finally:
                _in_transaction.active = False

    original_update = DynamoDBBackend.update_item

    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if getattr(_in_transaction, "active", False) and not args and not kwargs.get("condition_expression"):
            done = _counter_update(
                self,
                table_name,
                key,
                kwargs.get("update_expression", ""),
                kwargs.get("expression_attribute_names") or {},
                kwargs.get("expression_attribute_values") or {},
            )
            if done is not None:
                return done
        table = self.get_table(table_name)
        try:
            before = _indexed(table, table.get_item(*self.get_keys_value(table, key)))
        except Exception:  # the malformed key is moto's to report, below
            before = False
        updated = original_update(self, table_name, key, *args, **kwargs)
        if before or _indexed(table, updated):
            index_changed(table)
        return updated

    original_handler_update = DynamoHandler.update_item

    def handle_update_item(self: DynamoHandler) -> Any:
        served = _single_counter_update(self)
        return served if served is not None else original_handler_update(self)

    _patch_queries()
    DynamoHandler.update_item = handle_update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    _applied = True
